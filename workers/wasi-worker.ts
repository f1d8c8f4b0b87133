/**
 * Entry of the Web Worker that runs one WASI module (the browser; Node's is wasi-worker-node.ts);
 * the logic is in src/runtime/wasi/worker-main.ts.
 */
import { serveWasiWorker } from '../src/runtime/wasi/worker-main.ts';
import type { HostMessage } from '../src/runtime/wasi/protocol.ts';

const scope = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: 'message', cb: (e: MessageEvent) => void): void };
serveWasiWorker({ post: (m) => scope.postMessage(m), onMessage: (cb) => scope.addEventListener('message', (e) => cb(e.data as HostMessage)) });
