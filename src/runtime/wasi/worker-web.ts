/** Browser adapter: a module Web Worker (bundlers resolve the `new URL(..., import.meta.url)`). */
import type { WorkerHandle } from './worker-handle.ts';

export async function spawnWebWorker(): Promise<WorkerHandle> {
  const w = new Worker(new URL('../../../workers/wasi-worker.ts', import.meta.url), { type: 'module', name: 'skiff-wasi' });
  await new Promise<void>((resolve, reject) => {
    const onMsg = (e: MessageEvent) => {
      if ((e.data as { t?: string })?.t !== 'ready') return;
      w.removeEventListener('message', onMsg);
      resolve();
    };
    w.addEventListener('message', onMsg);
    w.addEventListener('error', (e) => reject(new Error(e.message || 'wasm worker failed to load')), { once: true });
  });
  return {
    post: (msg) => w.postMessage(msg),
    onMessage: (cb) => w.addEventListener('message', (e: MessageEvent) => cb(e.data)),
    onError: (cb) => {
      w.addEventListener('error', (e: ErrorEvent) => cb(new Error(e.message || 'worker failed to load')));
      w.addEventListener('messageerror', () => cb(new Error('worker message could not be decoded')));
    },
    terminate: async () => w.terminate(),
  };
}
