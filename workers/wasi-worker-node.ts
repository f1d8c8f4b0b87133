/** Entry of the worker_threads Worker that runs one WASI module on Node (src/runtime/wasi/worker-node.ts starts it). */
import { parentPort } from 'node:worker_threads';
import { serveWasiWorker } from '../src/runtime/wasi/worker-main.ts';

if (!parentPort) throw new Error('wasi-worker-node must run as a worker');
const port = parentPort;
serveWasiWorker({ post: (m) => port.postMessage(m), onMessage: (cb) => void port.on('message', cb) });
