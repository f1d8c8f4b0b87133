/**
 * Entry of the worker_threads Worker that runs the v86 guest on Node (src/runtime/vm/worker-node.ts
 * starts it); states are (de)compressed with Node's zlib.
 */
import { parentPort } from 'node:worker_threads';
import { nodeGzip } from '../src/runtime/vm/gzip-node.ts';
import { serveVmWorker } from '../src/runtime/vm/worker-main.ts';

if (!parentPort) throw new Error('vm-worker-node must run as a worker');
const port = parentPort;
serveVmWorker({
  post: (m, transfer) => port.postMessage(m, (transfer ?? []) as never),
  onMessage: (cb) => void port.on('message', cb),
}, nodeGzip);
