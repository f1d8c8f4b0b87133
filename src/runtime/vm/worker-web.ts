/** Browser adapter: the emulator in a dedicated module Web Worker (bundlers follow the URL). */
import type { VmWorkerHandle } from './worker-handle.ts';

export function spawnWebVmWorker(o: { wasmUrl?: string } = {}): Promise<VmWorkerHandle> {
  const w = new Worker(new URL('../../../workers/vm-worker.ts', import.meta.url), { type: 'module', name: 'skiff-vm' });
  const wasmPath = o.wasmUrl ?? new URL('../../../node_modules/v86/build/v86.wasm', import.meta.url).href;
  let errored = false;
  return Promise.resolve({
    wasmPath,
    post: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (cb) => w.addEventListener('message', (e) => cb(e.data)),
    onError: (cb) => w.addEventListener('error', (e) => {
      if (!errored) { errored = true; cb(new Error(`the emulator worker failed: ${e.message}`)); }
    }),
    terminate: async () => { errored = true; w.terminate(); },
  });
}
