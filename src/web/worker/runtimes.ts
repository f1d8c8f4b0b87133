/**
 * The container runtimes as the engine worker builds them, created on first use, from the browser
 * platform's pieces (src/browser.ts): the WASI runtime (each module in its own worker when
 * SharedArrayBuffer exists) and the VM runtime (artifacts and the shipped snapshot from the site,
 * snapshots in IndexedDB, the emulator in this thread unless `vmThread: 'worker'`). Each piece is
 * timed on the worker's timeline.
 *
 * The emulator shares this thread with everything else the engine does, and restoring it is
 * heavy synchronous work (the state read and checked, V86 built, `restore_state`: 0.3-0.9 s on
 * 2 loaded cores). A wasm container starting meanwhile (a docs page with a wasm and a Linux
 * example) needs this thread for its every step and system call, so it would print only after
 * the restore. `holdVm` lets such a start go first: the VM's restore waits at its heavy steps
 * while a hold is open, for at most VM_HOLD_MAX_MS (vm-hold.ts).
 */
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';
import type { ContainerRuntime } from '../../runtime/types.ts';
import type { VmRuntime } from '../../runtime/vm/container-runtime.ts';
import type { PooledSpawn } from '../../runtime/wasi/worker-handle.ts';
// In the worker's own script, not chunks imported at a wasm run's first use: their round trips
// came before its module's worker could even start (4.5 + 1.5 KB).
import { WasiRuntime } from '../../runtime/wasi/runtime.ts';
import { canUseWorker } from '../../runtime/wasi/runner.ts';
import { wasiSpawner } from './worker-spawn.ts';
import { pageFetched, pageFetching, startVm, takeVm, vmGate, vmMachineOptions } from './early-vm.ts';
import { mark, timed } from './timeline.ts';

export interface BrowserRuntimes {
  wasi(): Promise<ContainerRuntime>;
  vm(): Promise<ContainerRuntime>;
  /** True once the VM is booted or booting. */
  vmStarted(): boolean;
  /** Boot (or restore) the VM now, in the background. */
  warmVm(): Promise<void>;
  /** Load the WASI runtime and start a spare wasm worker now, before a wasm container asks. */
  warmWasi(): Promise<void>;
  /** One HTTP exchange with a published port's container (VmNetwork.portRequest). */
  portRequest(port: number, request: HttpRequestLike): Promise<HttpResponseLike>;
  /** Hold the VM's heavy restore steps until the returned release is called (or vm-hold.ts VM_HOLD_MAX_MS). */
  holdVm(): () => void;
  /** Resolves once no hold is open (other VM-related background work waits here too). */
  vmUnheld(step: string): Promise<void>;
  /** The page fetches the site's snapshot for `key` (EngineApi.snapshotFetching): a restore waits for `pageFetched`. */
  pageFetching(key: string): void;
  pageFetched(key: string, state: ArrayBuffer | null): void;
}

export function browserRuntimes(o: { assetBase: string; dbPrefix: string; vmThread?: 'inline' | 'worker'; wispRelay?: string }): BrowserRuntimes {
  let wasi: Promise<ContainerRuntime> | undefined;
  let vm: Promise<VmRuntime> | undefined;
  let vmRuntime: VmRuntime | undefined;
  let wasiSpawn: PooledSpawn | undefined;
  let reported = false;
  let warmed = false;
  const gate = vmGate;
  const self: BrowserRuntimes = {
    pageFetching,
    pageFetched,
    holdVm: () => gate.hold(),
    vmUnheld: (step) => gate.passed(step),
    warmWasi: async () => {
      await self.wasi();
      const warm = wasiSpawn?.warm();
      // The first spare on the timeline (`wasi.spare`, ms to start it): a page's first wasm run starts in it.
      if (warm && !warmed) void timed('wasi.spare', warm).catch(() => {});
      warmed = true;
      await warm;
    },
    vmStarted: () => vmRuntime?.started ?? false,
    portRequest: async (port, request) => (await self.vm() as VmRuntime).network.portRequest(port, request),
    warmVm: async () => {
      if (!vmRuntime?.started) mark('vm.warm');
      const m = await (await self.vm() as VmRuntime).machine();
      if (!reported) {
        reported = true;
        markAgentRequests(m.agent);
        mark('vm.ready', { restored: m.boot.restored, snapshotKey: m.boot.snapshotKey, readyMs: Math.round(m.boot.readyMs), ...roundAll(m.boot.phases ?? {}) });
      }
    },
    wasi: () => (wasi ??= (async () => {
      const spawn = typeof Worker === 'function' && canUseWorker() ? wasiSpawner() : undefined;
      wasiSpawn = spawn;
      return new WasiRuntime(spawn ? { spawn } : {});
    })()),
    vm: () => (vm ??= (async () => {
      // The restore starts now if the entry did not start it (early-vm.ts), while the rest of the
      // VM's code (the runtime, networking) is imported.
      const place = { assetBase: o.assetBase, dbPrefix: o.dbPrefix, ...(o.vmThread ? { vmThread: o.vmThread } : {}) };
      startVm(place);
      // Its code (0.1 MB) is not parsed on this thread while a wasm start goes first.
      await gate.passed('vm code');
      const [{ VmRuntime }, { wispDialer }, { dnsOverTcp }] = await Promise.all([
        import('../../runtime/vm/container-runtime.ts'), import('../../net/wisp.ts'), import('../../net/dns-tcp.ts')]);
      const dialer = o.wispRelay ? wispDialer(o.wispRelay, (url) => new WebSocket(url)) : null;
      vmRuntime = new VmRuntime({
        // For boots after the first (a crashed guest is replaced).
        machine: vmMachineOptions(place),
        adopt: () => takeVm(place),
        // Outbound TCP (and DNS, over TCP) only through a Wisp relay; without one a container's
        // connection fails at once and names outside its networks do not resolve (SERVFAIL).
        network: { dialer, ...(dialer ? { upstream: dnsOverTcp(dialer) } : {}) },
      });
      count9p(vmRuntime);
      return vmRuntime;
    })()),
  };
  return self;
}

/** How many agent requests after VM ready are marked (`vm.agent <op>` when answered): the first run's. */
const AGENT_MARKS = 12;

/**
 * Marks the first AGENT_MARKS agent requests on the timeline with their length, so that a first
 * output's time splits into host work and the guest's (crun's create+start is `vm.agent run`).
 */
function markAgentRequests(agent: { request(op: string, fields: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> }): void {
  const request = agent.request.bind(agent);
  let left = AGENT_MARKS;
  agent.request = (op, fields, timeoutMs) => {
    const p = request(op, fields, timeoutMs);
    if (--left <= 0) agent.request = request;
    void timed(`vm.agent ${op}`, p).catch(() => {});
    return p;
  };
}

function roundAll(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
}

/**
 * 9P requests served and the host time spent on them, as running totals: `ms` is the time spent
 * in the server's thread, `waited`/`waitMs` count replies that waited for an asynchronous store
 * (image bytes from IndexedDB) and how long they waited, summed.
 */
export const p9Stats = { requests: 0, ms: 0, waited: 0, waitMs: 0 };

function count9p(rt: VmRuntime): void {
  const server = rt.server as { handleAsync(req: Uint8Array): Uint8Array | Promise<Uint8Array> };
  const handle = server.handleAsync.bind(server);
  server.handleAsync = (req) => {
    const t0 = performance.now();
    p9Stats.requests++;
    const reply = handle(req);
    const t1 = performance.now();
    p9Stats.ms += t1 - t0;
    if (reply instanceof Promise) {
      p9Stats.waited++;
      void reply.finally(() => { p9Stats.waitMs += performance.now() - t1; }).catch(() => {});
    }
    return reply;
  };
}
