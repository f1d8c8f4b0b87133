/**
 * Entry of the Web Worker that runs the v86 guest (the browser; Node's is vm-worker-node.ts); the
 * logic is in src/runtime/vm/worker-main.ts.
 */
import { serveVmWorker } from '../src/runtime/vm/worker-main.ts';
import type { HostToWorker } from '../src/runtime/vm/worker-protocol.ts';

const scope = globalThis as unknown as {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(t: 'message', cb: (e: MessageEvent) => void): void;
};
serveVmWorker({
  post: (m, transfer) => scope.postMessage(m, transfer ?? []),
  onMessage: (cb) => scope.addEventListener('message', (e) => cb(e.data as HostToWorker)),
});
