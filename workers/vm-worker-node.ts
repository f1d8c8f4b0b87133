/**
 * Entry of the worker_threads Worker that runs the v86 guest on Node (src/runtime/vm/worker-node.ts
 * starts it); VM states are (de)compressed with Node's zlib, installed here as src/node.ts does.
 */
import { parentPort } from 'node:worker_threads';
import { useNodeNatives } from '../src/node-natives.ts';
import { serveVmWorker } from '../src/runtime/vm/worker-main.ts';

useNodeNatives();
if (!parentPort) throw new Error('vm-worker-node must run as a worker');
const port = parentPort;
serveVmWorker({
  post: (m, transfer) => port.postMessage(m, (transfer ?? []) as never),
  onMessage: (cb) => void port.on('message', cb),
});
