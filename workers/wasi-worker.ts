/** Entry of the worker that runs one WASI module; the logic is in src/runtime/wasi/worker-main.ts. */
import { serveWasiWorker, type WorkerEndpoint } from '../src/runtime/wasi/worker-main.ts';
import type { HostMessage } from '../src/runtime/wasi/protocol.ts';

const nodeProcess = (globalThis as { process?: { versions?: { node?: string } } }).process;
let endpoint: WorkerEndpoint;
if (typeof nodeProcess?.versions?.node === 'string' && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined') {
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('wasi-worker must run as a worker');
  endpoint = { post: (m) => parentPort.postMessage(m), onMessage: (cb) => void parentPort.on('message', cb) };
} else {
  const scope = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: 'message', cb: (e: MessageEvent) => void): void };
  endpoint = { post: (m) => scope.postMessage(m), onMessage: (cb) => scope.addEventListener('message', (e) => cb(e.data as HostMessage)) };
}
serveWasiWorker(endpoint);
