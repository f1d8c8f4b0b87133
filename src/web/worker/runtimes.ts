/**
 * The container runtimes as the engine worker builds them, created on first use, from the browser
 * platform's pieces (src/browser.ts): the WASI runtime (each module in its own worker when
 * SharedArrayBuffer exists) and the VM runtime (artifacts and the shipped snapshot from the site,
 * snapshots in IndexedDB, the emulator in this thread unless `vmThread: 'worker'`). Each piece is
 * timed on the worker's timeline.
 */
import { browserMachineOptions, browserWasiSpawn, v86WasmUrl } from '../../browser.ts';
import type { ContainerRuntime } from '../../runtime/types.ts';
import type { VmRuntime } from '../../runtime/vm/container-runtime.ts';
import type { ArtifactSource } from '../../runtime/vm/artifacts.ts';
import type { VmSnapshotStore } from '../../runtime/vm/snapshot-store.ts';
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
      const [{ WasiRuntime }, spawn] = await Promise.all([import('../../runtime/wasi/runtime.ts'), browserWasiSpawn()]);
      return new WasiRuntime(spawn ? { spawn } : {});
    })()),
    vm: () => (vm ??= (async () => {
      const { VmRuntime } = await import('../../runtime/vm/container-runtime.ts');
      const wasmUrl = v86WasmUrl(o.assetBase);
      // Compiling v86.wasm needs nothing else: start it now, not after the snapshot is read.
      void compiledV86(wasmUrl).catch(() => {});
      const machine = browserMachineOptions({
        assetBase: o.assetBase, dbPrefix: o.dbPrefix, ...(o.vmThread ? { thread: o.vmThread } : {}),
        wasmModule: () => compiledV86(wasmUrl),
        onYield: (inThread) => mark('vm.emulator', { yieldInThread: inThread }),
        onSnapshotFrom: (_key, from) => mark('vm.snapshot-from', { from }),
      });
      vmRuntime = new VmRuntime({
        machine: { ...machine, artifacts: timedArtifacts(machine.artifacts), snapshots: timedSnapshots(machine.snapshots!) },
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

function timedSnapshots(s: VmSnapshotStore): VmSnapshotStore {
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
