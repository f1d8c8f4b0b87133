/**
 * The emulator in its own worker (`vmThread: 'worker'`; the default runs it inline in the engine
 * worker). Loaded only when asked for: in the library build this module carries v86.wasm inlined.
 */
// vite bundles the worker entry and gives its URL (relative to the site's base).
import vmWorkerUrl from '../../../workers/vm-worker.ts?worker&url';
import { spawnWebVmWorker } from '../../runtime/vm/worker-web.ts';
import type { VmWorkerHandle } from '../../runtime/vm/worker-handle.ts';
import { sameOriginScriptUrl } from './worker-spawn.ts';

/** The emulator's worker; v86.wasm from the site's assets (vm-images/v86.wasm). */
export function vmWorkerSpawner(wasmUrl: string): () => Promise<VmWorkerHandle> {
  return () => spawnWebVmWorker({ workerUrl: sameOriginScriptUrl(new URL(vmWorkerUrl, import.meta.url)), wasmUrl });
}
