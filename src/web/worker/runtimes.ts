/**
 * The container runtimes as the browser builds them, created on first use: the WASI runtime
 * (each module in its own worker when SharedArrayBuffer exists) and the VM runtime (v86 in a
 * worker, guest artifacts fetched from the site and checked against their manifest, snapshots
 * in IndexedDB). Worker scripts on another origin start through blob URLs (wasi-spawn.ts).
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

export function browserRuntimes(o: { assetBase: string; dbPrefix: string }): BrowserRuntimes {
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
      const [{ VmRuntime }, vmMod, { vmWorkerSpawner }] = await Promise.all([
        import('../../runtime/vm/container-runtime.ts'),
        import('../../runtime/vm/index.ts'),
        import('./worker-spawn.ts'),
      ]);
      return (vmRuntime = new VmRuntime({
        thread: 'worker',
        machine: {
          artifacts: vmMod.httpArtifacts(new URL('vm-images/dist/', o.assetBase)),
          snapshots: vmMod.idbSnapshots(`${o.dbPrefix}-vm`),
          spawnWorker: vmWorkerSpawner(new URL('vm-images/v86.wasm', o.assetBase).href),
        },
      }));
    })()),
  };
  return self;
}
