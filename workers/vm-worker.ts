/** Entry of the worker that runs the v86 guest; the logic is in src/runtime/vm/worker-main.ts. */
import { serveVmWorker } from '../src/runtime/vm/worker-main.ts';
import type { HostToWorker, WorkerEndpoint } from '../src/runtime/vm/worker-protocol.ts';

const nodeProcess = (globalThis as { process?: { versions?: { node?: string } } }).process;
let endpoint: WorkerEndpoint;
if (typeof nodeProcess?.versions?.node === 'string' && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined') {
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('vm-worker must run as a worker');
  endpoint = {
    post: (m, transfer) => parentPort.postMessage(m, (transfer ?? []) as never),
    onMessage: (cb) => void parentPort.on('message', cb),
  };
} else {
  const scope = globalThis as unknown as {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    addEventListener(t: 'message', cb: (e: MessageEvent) => void): void;
  };
  endpoint = {
    post: (m, transfer) => scope.postMessage(m, transfer ?? []),
    onMessage: (cb) => scope.addEventListener('message', (e) => cb(e.data as HostToWorker)),
  };
}
serveVmWorker(endpoint);
