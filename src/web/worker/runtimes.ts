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
import { browserMachineOptions, browserWasiSpawn, v86WasmUrl } from '../../browser.ts';
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';
import type { ContainerRuntime } from '../../runtime/types.ts';
import type { VmRuntime } from '../../runtime/vm/container-runtime.ts';
import { ARTIFACT_FILES, type ArtifactSource } from '../../runtime/vm/artifacts.ts';
import { defaultSnapshotKey, type VmSnapshotStore } from '../../runtime/vm/snapshot-store.ts';
import type { VmWorkerHandle } from '../../runtime/vm/worker-handle.ts';
import type { PooledSpawn } from '../../runtime/wasi/worker-handle.ts';
import { mark, timed } from './timeline.ts';
import { bootAfter, holdGate } from './vm-hold.ts';

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
  const gate = holdGate({ onWaited: (step, ms) => mark('vm.held', { step, ms }) });
  // Shipped snapshots the page is fetching, by key; each is handed out once.
  const fromPage = new Map<string, { state: Promise<ArrayBuffer | null>; settle(s: ArrayBuffer | null): void }>();
  const self: BrowserRuntimes = {
    pageFetching: (key) => {
      if (fromPage.has(key)) return;
      let settle!: (s: ArrayBuffer | null) => void;
      const state = new Promise<ArrayBuffer | null>((r) => (settle = r));
      fromPage.set(key, { state, settle });
      mark('vm.snapshot-page', { fetching: true });
    },
    pageFetched: (key, state) => {
      fromPage.get(key)?.settle(state);
      mark('vm.snapshot-page', { bytes: state?.byteLength ?? 0 });
    },
    holdVm: () => gate.hold(),
    vmUnheld: (step) => gate.passed(step),
    warmWasi: async () => {
      await self.wasi();
      await wasiSpawn?.warm();
    },
    vmStarted: () => vmRuntime?.started ?? false,
    portRequest: async (port, request) => (await self.vm() as VmRuntime).network.portRequest(port, request),
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
      wasiSpawn = spawn;
      return new WasiRuntime(spawn ? { spawn } : {});
    })()),
    vm: () => (vm ??= (async () => {
      const wasmUrl = v86WasmUrl(o.assetBase);
      // Compiling v86.wasm needs nothing else: start it now, not after the snapshot is read.
      void compiledV86(wasmUrl).catch(() => {});
      const machine = browserMachineOptions({
        assetBase: o.assetBase, dbPrefix: o.dbPrefix, ...(o.vmThread ? { thread: o.vmThread } : {}),
        wasmModule: () => compiledV86(wasmUrl),
        onYield: (inThread) => mark('vm.emulator', { yieldInThread: inThread }),
        onSnapshotFrom: (_key, from) => mark('vm.snapshot-from', { from }),
        pageSnapshot: (key) => {
          const p = fromPage.get(key);
          // Handed out once: a later start (after a crash) reads IndexedDB or the site again.
          return p?.state.finally(() => { if (fromPage.get(key) === p) fromPage.delete(key); });
        },
      });
      // The manifest and the BIOS are fetched while the VM's code is imported (~0.1 s), and the
      // snapshot is read under the key the Machine will compute from that manifest.
      const artifacts = prefetched(timedArtifacts(machine.artifacts), [ARTIFACT_FILES.bios]);
      const snapshots = readEarly(
        timedSnapshots(machine.snapshots!, () => gate.passed('snapshot read')),
        artifacts.manifest().then(({ text, value }) => defaultSnapshotKey(text, value)),
      );
      // So is the emulator's own module (v86), which the inline spawn would import only when asked.
      if ((o.vmThread ?? 'inline') === 'inline') void import('../../runtime/vm/worker-inline.ts').catch(() => {});
      const [{ VmRuntime }, { wispDialer }, { dnsOverTcp }] = await Promise.all([
        import('../../runtime/vm/container-runtime.ts'), import('../../net/wisp.ts'), import('../../net/dns-tcp.ts')]);
      const dialer = o.wispRelay ? wispDialer(o.wispRelay, (url) => new WebSocket(url)) : null;
      vmRuntime = new VmRuntime({
        machine: {
          ...machine, artifacts,
          onPhase: (name, detail) => mark(`vm.${name}`, detail),
          snapshots,
          spawnWorker: async () => bootAfter(await machine.spawnWorker(), () => gate.passed('emulator build')),
        },
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

/**
 * `a` with the manifest and `names` requested now; the first read of each is answered from that
 * request, later ones read again (the Machine hands the buffers it gets to the emulator).
 */
function prefetched(a: ArtifactSource, names: string[]): ArtifactSource {
  void a.manifest().catch(() => {});
  const early = new Map(names.map((n) => {
    const p = a.read(n);
    p.catch(() => {});
    return [n, p] as const;
  }));
  return {
    manifest: () => a.manifest(),
    read: (name) => {
      const p = early.get(name);
      early.delete(name);
      return p ?? a.read(name);
    },
  };
}

/**
 * `s` with the state for the key `early` resolves to read now; the first get of that key is
 * answered from that read, any other get reads `s` (a key computed otherwise just misses the head start).
 */
function readEarly(s: VmSnapshotStore, early: Promise<string>): VmSnapshotStore {
  const first = early.then((key) => ({ key, state: s.get(key) }));
  first.then(({ state }) => state.catch(() => {}), () => {});
  let used = false;
  return {
    get: async (key) => {
      const e = await first.catch(() => null);
      if (e && !used && e.key === key) {
        used = true;
        return e.state;
      }
      return s.get(key);
    },
    put: (key, state) => s.put(key, state),
    delete: (key) => s.delete(key),
  };
}

function timedSnapshots(s: VmSnapshotStore, before: () => Promise<void>): VmSnapshotStore {
  return {
    get: (key) => before().then(() => timed('vm.snapshot-get', s.get(key))),
    put: (key, state) => timed('vm.snapshot-put', s.put(key, state)),
    delete: (key) => s.delete(key),
  };
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
