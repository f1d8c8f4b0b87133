/**
 * Browser adapter: a module Web Worker. Vite resolves the `new URL(..., import.meta.url)` default;
 * other bundlers build workers/wasi-worker.ts themselves and pass its URL.
 */
import { withSpare, type PooledSpawn, type WorkerHandle } from './worker-handle.ts';

export async function spawnWebWorker(url?: string | URL): Promise<WorkerHandle> {
  const w = url
    ? new Worker(url, { type: 'module', name: 'skiff-wasi' })
    : new Worker(new URL('../../../workers/wasi-worker.ts', import.meta.url), { type: 'module', name: 'skiff-wasi' });
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

/** A spawner (with a spare worker) for a worker entry built and served by the caller. */
export function webWorkerSpawner(url: string | URL): PooledSpawn {
  return withSpare(() => spawnWebWorker(url));
}
