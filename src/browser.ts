/**
 * The browser entry point (package.json `exports`, condition "browser"): the one place that knows
 * it runs in a browser. It builds the platform pieces (IndexedDB content and state stores, bundled
 * images, guest artifacts and the shipped VM snapshot over HTTP, VM snapshots in IndexedDB, Web
 * Worker spawners) for the engine worker (src/web/worker/), which hands them to the
 * environment-free engine and runtimes. The Node twin is src/node.ts; where they differ in a
 * default (the emulator's thread) they agree: the engine's own thread.
 *
 * There are no bind mounts here (no host directory), and gzip and hashing are what every JS
 * environment has, which the layers below use unless an entry point installs others:
 * (De)CompressionStream, SHA-256 in JS (streaming) and crypto.subtle (whole VM states).
 */
import { IdbSnapshotStore } from './engine/snapshots/idb.ts';
import { IdbContentStore } from './content/idb.ts';
import { IdbStateStore } from './engine/state/idb.ts';
import { canUseWorker } from './runtime/wasi/runner.ts';
import type { PooledSpawn } from './runtime/wasi/worker-handle.ts';
import { httpBundled, type HttpBundled } from './web/worker/bundled-http.ts';

export * from './engine/index.ts';
// The VM's pieces live apart: the engine worker's first lines start a restore with them (web/worker/early-vm.ts).
export { browserMachineOptions, v86WasmUrl, type BrowserMachineOptions } from './browser-machine.ts';

/** The content, state and snapshot stores: databases "<prefix>-content", "<prefix>-state", "<prefix>-snapshots". */
export function browserStores(prefix: string): { content: IdbContentStore; state: IdbStateStore; snapshots: IdbSnapshotStore } {
  return {
    content: new IdbContentStore({ dbName: `${prefix}-content` }),
    state: new IdbStateStore({ dbName: `${prefix}-state` }),
    snapshots: new IdbSnapshotStore({ dbName: `${prefix}-snapshots` }),
  };
}

/** Bundled images from the site (vm-images/images/dist/ under `assetBase`), checked against their manifest. */
export function browserBundled(assetBase: string, fetchFn?: typeof fetch): HttpBundled {
  return httpBundled(assetBase, fetchFn);
}

/**
 * Web Workers for wasm modules (one spare kept warm) where this context can block a worker on
 * shared memory (crossOriginIsolated); undefined elsewhere, and modules then run inline.
 */
export async function browserWasiSpawn(): Promise<PooledSpawn | undefined> {
  if (typeof Worker !== 'function' || !canUseWorker()) return undefined;
  return (await import('./web/worker/worker-spawn.ts')).wasiSpawner();
}
