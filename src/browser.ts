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
import { httpArtifacts } from './runtime/vm/artifacts.ts';
import type { MachineOptions } from './runtime/vm/machine.ts';
import { httpSnapshots, layeredSnapshots, SHIPPED_SNAPSHOT_DIR, type LayeredSnapshotOptions } from './runtime/vm/snapshot-http.ts';
import { idbSnapshots } from './runtime/vm/snapshot-idb.ts';
import { canUseWorker } from './runtime/wasi/runner.ts';
import type { PooledSpawn } from './runtime/wasi/worker-handle.ts';
import { httpBundled, type HttpBundled } from './web/worker/bundled-http.ts';

export * from './engine/index.ts';

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

/** Where the site serves v86.wasm (vite.config.ts copies it there). */
export function v86WasmUrl(assetBase: string): string {
  return new URL('vm-images/v86.wasm', assetBase).href;
}

export interface BrowserMachineOptions {
  assetBase: string;
  /** VM snapshots go to the IndexedDB database "<dbPrefix>-vm". */
  dbPrefix: string;
  /**
   * 'inline' (the default): the emulator in this thread, the engine worker, beside the P9Server:
   * a 9P request is then a function call instead of a postMessage hop each way (find over
   * skiff/tools ~2x faster); the page's main thread still never runs it. 'worker': its own Worker.
   */
  thread?: 'inline' | 'worker';
  /** v86.wasm compiled (e.g. streaming, started early); inline only. */
  wasmModule?: () => Promise<WebAssembly.Module>;
  /** Told whether the in-thread yield was installed; inline only. */
  onYield?: (inThread: boolean) => void;
  /** Told where each snapshot read was answered from (IndexedDB, the site, nowhere). */
  onSnapshotFrom?: LayeredSnapshotOptions['onGet'];
  /** The site's state for `key` as the page fetched it (client/snapshot-prefetch.ts); null or undefined: fetch it here. */
  pageSnapshot?: (key: string) => Promise<ArrayBuffer | null> | undefined;
}

/**
 * Everything Machine.start needs in a browser but the 9P handler: artifacts fetched from the site
 * and checked against their manifest, snapshots from IndexedDB first and else the state shipped
 * with the site (a first visit restores it), and the emulator's thread.
 */
export function browserMachineOptions(o: BrowserMachineOptions): Omit<MachineOptions, 'handle9p'> {
  const vmDir = new URL('vm-images/dist/', o.assetBase);
  const wasmUrl = v86WasmUrl(o.assetBase);
  const http = httpSnapshots(new URL(SHIPPED_SNAPSHOT_DIR, vmDir));
  const shipped: typeof http = o.pageSnapshot
    ? { ...http, get: async (key) => (await o.pageSnapshot!(key)) ?? http.get(key) }
    : http;
  const snapshots = layeredSnapshots(idbSnapshots(`${o.dbPrefix}-vm`), shipped, {
    ...(o.onSnapshotFrom ? { onGet: o.onSnapshotFrom } : {}),
  });
  return {
    artifacts: httpArtifacts(vmDir),
    snapshots,
    spawnWorker: (o.thread ?? 'inline') === 'inline'
      ? async () => (await import('./runtime/vm/worker-inline.ts')).spawnInlineVmWorker({
        wasmPath: wasmUrl,
        ...(o.wasmModule ? { wasmModule: o.wasmModule } : {}),
        ...(o.onYield ? { onYield: o.onYield } : {}),
      })
      // The worker script's URL comes from vite (vm-worker-spawn.ts), loaded only when asked for.
      : async () => (await import('./web/worker/vm-worker-spawn.ts')).vmWorkerSpawner(wasmUrl)(),
  };
}

/**
 * Web Workers for wasm modules (one spare kept warm) where this context can block a worker on
 * shared memory (crossOriginIsolated); undefined elsewhere, and modules then run inline.
 */
export async function browserWasiSpawn(): Promise<PooledSpawn | undefined> {
  if (typeof Worker !== 'function' || !canUseWorker()) return undefined;
  return (await import('./web/worker/worker-spawn.ts')).wasiSpawner();
}
