/**
 * The container runtimes as the browser builds them, created on first use: the WASI runtime
 * (each module in its own worker when SharedArrayBuffer exists) and the VM runtime (guest
 * artifacts fetched from the site and checked against their manifest, snapshots in IndexedDB).
 * Worker scripts on another origin start through blob URLs (worker-spawn.ts).
 *
 * The emulator runs in this thread, the engine worker, beside the P9Server ('inline'): a 9P
 * request is then a function call instead of a postMessage hop each way (find over skiff/tools
 * ~2x faster). The page's main thread still never runs it. `vmThread: 'worker'` restores the
 * emulator's own worker.
 */
import type { ContainerRuntime } from '../../runtime/types.ts';
import { canUseWorker } from '../../runtime/wasi/index.ts';
import { WasiRuntime } from '../../runtime/wasi/runtime.ts';
import type { VmRuntime } from '../../runtime/vm/container-runtime.ts';
import type { ArtifactSource } from '../../runtime/vm/artifacts.ts';
import type { SnapshotStore } from '../../runtime/vm/snapshot-store.ts';
import { mark, timed } from './timeline.ts';

export interface BrowserRuntimes {
  wasi(): Promise<ContainerRuntime>;
  vm(): Promise<ContainerRuntime>;
  /** True once the VM is booted or booting. */
  vmStarted(): boolean;
  /** Boot (or restore) the VM now, in the background. */
  warmVm(): Promise<void>;
}

export function browserRuntimes(o: { assetBase: string; dbPrefix: string; vmThread?: 'inline' | 'worker' }): BrowserRuntimes {
  let wasi: Promise<ContainerRuntime> | undefined;
  let vm: Promise<VmRuntime> | undefined;
  let vmRuntime: VmRuntime | undefined;
  let reported = false;
  const self: BrowserRuntimes = {
    vmStarted: () => vmRuntime?.started ?? false,
    warmVm: async () => {
      if (!vmRuntime?.started) mark('vm.warm');
      const m = await (await self.vm() as VmRuntime).machine();
      if (!reported) {
        reported = true;
        mark('vm.ready', { restored: m.boot.restored, snapshotKey: m.boot.snapshotKey, readyMs: Math.round(m.boot.readyMs), ...roundAll(m.boot.phases ?? {}) });
      }
    },
    wasi: () => (wasi ??= (async () => {
      const inBrowserWorker = typeof Worker === 'function' && canUseWorker();
      const spawn = inBrowserWorker ? (await import('./worker-spawn.ts')).wasiSpawner() : undefined;
      return new WasiRuntime(spawn ? { spawn } : {});
    })()),
    vm: () => (vm ??= (async () => {
      const [{ VmRuntime }, vmMod, { vmWorkerSpawner }, { spawnInlineVmWorker }, { httpSnapshots, layeredSnapshots, SHIPPED_SNAPSHOT_DIR }] = await Promise.all([
        import('../../runtime/vm/container-runtime.ts'),
        import('../../runtime/vm/index.ts'),
        import('./worker-spawn.ts'),
        import('../../runtime/vm/worker-inline.ts'),
        import('../../runtime/vm/snapshot-http.ts'),
      ]);
      const wasmUrl = new URL('vm-images/v86.wasm', o.assetBase).href;
      // Compiling v86.wasm needs nothing else: start it now, not after the snapshot is read.
      void compiledV86(wasmUrl).catch(() => {});
      const vmDir = new URL('vm-images/dist/', o.assetBase);
      const thread = o.vmThread ?? 'inline';
      vmRuntime = new VmRuntime({
        thread,
        machine: {
          artifacts: timedArtifacts(vmMod.httpArtifacts(vmDir)),
          // IndexedDB first, else the state shipped with the site (a first visit restores it).
          snapshots: timedSnapshots(layeredSnapshots(vmMod.idbSnapshots(`${o.dbPrefix}-vm`), httpSnapshots(new URL(SHIPPED_SNAPSHOT_DIR, vmDir)), {
            onGet: (_key, from) => mark('vm.snapshot-from', { from }),
          })),
          spawnWorker: thread === 'inline'
            ? () => spawnInlineVmWorker({
              wasmPath: wasmUrl, wasmModule: () => compiledV86(wasmUrl),
              onYield: (inThread) => mark('vm.emulator', { yieldInThread: inThread }),
            })
            : vmWorkerSpawner(wasmUrl),
        },
      });
      count9p(vmRuntime);
      return vmRuntime;
    })()),
  };
  return self;
}

let v86Module: Promise<WebAssembly.Module> | undefined;

/** v86.wasm compiled once per engine worker, streaming (compiles while it downloads). */
export function compiledV86(url: string): Promise<WebAssembly.Module> {
  v86Module ??= timed('vm.v86-compile', WebAssembly.compileStreaming(fetch(url)));
  v86Module.catch(() => { v86Module = undefined; });
  return v86Module;
}

function roundAll(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
}

function timedArtifacts(a: ArtifactSource): ArtifactSource {
  return {
    manifest: () => timed('vm.manifest', a.manifest()),
    read: (name) => timed(`vm.read ${name}`, a.read(name)),
  };
}

function timedSnapshots(s: SnapshotStore): SnapshotStore {
  return {
    get: (key) => timed('vm.snapshot-get', s.get(key)),
    put: (key, state) => timed('vm.snapshot-put', s.put(key, state)),
    delete: (key) => s.delete(key),
  };
}

/** 9P requests served and the host time spent on them, as running totals (p9Stats). */
export const p9Stats = { requests: 0, ms: 0 };

function count9p(rt: VmRuntime): void {
  const server = rt.server as { handle(req: Uint8Array): Uint8Array };
  const handle = server.handle.bind(server);
  server.handle = (req) => {
    const t0 = performance.now();
    try {
      return handle(req);
    } finally {
      p9Stats.requests++;
      p9Stats.ms += performance.now() - t0;
    }
  };
}
