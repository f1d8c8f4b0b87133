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
  const self: BrowserRuntimes = {
    vmStarted: () => vmRuntime?.started ?? false,
    warmVm: async () => { await (await self.vm() as VmRuntime).machine(); },
    wasi: () => (wasi ??= (async () => {
      const inBrowserWorker = typeof Worker === 'function' && canUseWorker();
      const spawn = inBrowserWorker ? (await import('./worker-spawn.ts')).wasiSpawner() : undefined;
      return new WasiRuntime(spawn ? { spawn } : {});
    })()),
    vm: () => (vm ??= (async () => {
      const [{ VmRuntime }, vmMod, { vmWorkerSpawner }, { spawnInlineVmWorker }] = await Promise.all([
        import('../../runtime/vm/container-runtime.ts'),
        import('../../runtime/vm/index.ts'),
        import('./worker-spawn.ts'),
        import('../../runtime/vm/worker-inline.ts'),
      ]);
      const wasmUrl = new URL('vm-images/v86.wasm', o.assetBase).href;
      const thread = o.vmThread ?? 'inline';
      return (vmRuntime = new VmRuntime({
        thread,
        machine: {
          artifacts: vmMod.httpArtifacts(new URL('vm-images/dist/', o.assetBase)),
          snapshots: vmMod.idbSnapshots(`${o.dbPrefix}-vm`),
          spawnWorker: thread === 'inline'
            ? () => spawnInlineVmWorker({ wasmPath: wasmUrl, wasmModule: () => compiledV86(wasmUrl) })
            : vmWorkerSpawner(wasmUrl),
        },
      }));
    })()),
  };
  return self;
}

let v86Module: Promise<WebAssembly.Module> | undefined;

/** v86.wasm compiled once per engine worker, streaming (compiles while it downloads). */
export function compiledV86(url: string): Promise<WebAssembly.Module> {
  v86Module ??= WebAssembly.compileStreaming(fetch(url));
  v86Module.catch(() => { v86Module = undefined; });
  return v86Module;
}
