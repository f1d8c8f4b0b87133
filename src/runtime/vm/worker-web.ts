/** Browser adapter: the emulator in a dedicated module Web Worker (bundlers follow the URL). */
import type { VmWorkerHandle } from './worker-handle.ts';

const compiled: Record<string, Promise<WebAssembly.Module>> = {};

/** `workerUrl`/`wasmUrl` override where a bundled site serves the worker entry and v86.wasm. */
export function spawnWebVmWorker(o: { workerUrl?: string | URL; wasmUrl?: string } = {}): Promise<VmWorkerHandle> {
  const w = o.workerUrl
    ? new Worker(o.workerUrl, { type: 'module', name: 'skiff-vm' })
    : new Worker(new URL('../../../workers/vm-worker.ts', import.meta.url), { type: 'module', name: 'skiff-vm' });
  const wasmPath = o.wasmUrl ?? new URL('../../../node_modules/v86/build/v86.wasm', import.meta.url).href;
  let errored = false;
  return Promise.resolve({
    wasmPath,
    wasmModule: () => (compiled[wasmPath] ??= WebAssembly.compileStreaming(fetch(wasmPath))),
    post: (msg, transfer) => w.postMessage(msg, transfer ?? []),
    onMessage: (cb) => w.addEventListener('message', (e) => cb(e.data)),
    onError: (cb) => w.addEventListener('error', (e) => {
      if (!errored) { errored = true; cb(new Error(`the emulator worker failed: ${e.message}`)); }
    }),
    terminate: async () => { errored = true; w.terminate(); },
  });
}
