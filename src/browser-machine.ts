/**
 * The VM in a browser (re-exported by src/browser.ts): guest artifacts and the shipped snapshot
 * fetched from the site, snapshots in IndexedDB, the emulator's thread. Apart from browser.ts so
 * that the engine worker's entry can start the VM's restore with it before the engine's own code
 * (IndexedDB stores, the Engine, which browser.ts brings in) has loaded (web/worker/early-vm.ts).
 */
import { httpArtifacts } from './runtime/vm/artifacts.ts';
import type { MachineOptions } from './runtime/vm/machine.ts';
import { httpSnapshots, layeredSnapshots, SHIPPED_SNAPSHOT_DIR, type LayeredSnapshotOptions } from './runtime/vm/snapshot-http.ts';
import { idbSnapshots } from './runtime/vm/snapshot-idb.ts';

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
  /** The guest's manifest.json as the page already read it (a request less). */
  manifest?: string;
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
    artifacts: httpArtifacts(vmDir, fetch, o.manifest),
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
