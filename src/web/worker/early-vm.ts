/**
 * The VM's restore, started by the engine worker's first lines (workers/engine-worker.ts) before
 * the engine's own code has loaded. The worker's script is mostly the Engine (stores, images,
 * the Docker API ...): loading and evaluating it took 0.03-0.2 s on a reload, then `init`, the
 * image's resolve and the VM's own chunk came before the snapshot was even asked for. Nothing of
 * that is needed to restore the guest: the manifest, the BIOS, v86.wasm and the stored state are.
 *
 * So the page says at once what it will run (an EarlyMessage, posted beside comlink's first calls
 * and answered by the entry, not by comlink): for a bundled Linux image the Machine starts here,
 * and the VmRuntime made later adopts it (`takeVm`) and installs its 9P server. The page's
 * download of a first visit's shipped snapshot (client/snapshot-prefetch.ts) is announced and
 * handed over the same way. Everything else waits for the Engine, as before.
 *
 * The hold that lets a wasm container's start go before the VM's heavy steps (vm-hold.ts) is this
 * module's too: an early restore waits at the same steps.
 */
import { browserMachineOptions, v86WasmUrl } from '../../browser-machine.ts';
import { normalizeReference } from '../../oci/reference.ts';
import { Machine, type MachineOptions } from '../../runtime/vm/machine.ts';
import type { VmSnapshotStore } from '../../runtime/vm/snapshot-store.ts';
import { mark, timed } from './timeline.ts';
import { bootAfter, holdGate } from './vm-hold.ts';

/** What the page tells the engine worker's entry ahead of comlink's calls (`skiffEarly` names the kind). */
export type EarlyMessage =
  /**
   * Restore the VM now: the page runs a bundled Linux image; `manifest`: the guest's manifest.json
   * as the page read it; `v86`: the page compiles v86.wasm from this URL and sends it (a 'v86' message).
   */
  | { skiffEarly: 'vm'; assetBase: string; dbPrefix: string; image: string; manifest?: string; vmThread?: 'inline' | 'worker'; v86?: string }
  /** v86.wasm compiled by the page (null: it could not; compiled here then). */
  | { skiffEarly: 'v86'; url: string; module: WebAssembly.Module | null }
  /**
   * An element will run `image`: hold the VM's heavy restore steps (vm-hold.ts) until the page
   * says it is a Linux image ('vm' or 'unhold') or its run opens its own hold (a wasm start then
   * goes first even when the page's early restore is ahead of the engine's code).
   */
  | { skiffEarly: 'hold'; image: string }
  | { skiffEarly: 'unhold'; image: string }
  | { skiffEarly: 'snapshot-fetching'; key: string }
  | { skiffEarly: 'snapshot-fetched'; key: string; state: ArrayBuffer | null };

export function isEarlyMessage(data: unknown): data is EarlyMessage {
  return typeof data === 'object' && data !== null && typeof (data as { skiffEarly?: unknown }).skiffEarly === 'string';
}

/** Where the VM's pieces come from; one started Machine per distinct value. */
export interface VmPlace {
  assetBase: string;
  dbPrefix: string;
  vmThread?: 'inline' | 'worker';
}

/** The VM's hold for wasm starts (runtimes.ts holdVm): one per worker, early restore included. */
export const vmGate = holdGate({ onWaited: (step, ms) => mark('vm.held', { step, ms }) });

export function onEarlyMessage(m: EarlyMessage): void {
  switch (m.skiffEarly) {
    case 'vm':
      try {
        linuxImages.add(normalizeReference(m.image));
      } catch {
        // not a reference the page should have sent: the run finds out the usual way
      }
      // A Linux image: none of its runs need the VM held back.
      while (earlyHolds.has(m.image)) endEarlyHold(m.image);
      if (m.v86) v86FromPage(m.v86);
      startVm({ assetBase: m.assetBase, dbPrefix: m.dbPrefix, ...(m.vmThread ? { vmThread: m.vmThread } : {}) }, m.manifest, 'page');
      break;
    case 'v86':
      pageV86.get(m.url)?.(m.module);
      pageV86.delete(m.url);
      break;
    case 'hold': {
      const held = earlyHolds.get(m.image);
      if (held) held.push(vmGate.hold());
      else earlyHolds.set(m.image, [vmGate.hold()]);
      break;
    }
    case 'unhold':
      endEarlyHold(m.image);
      break;
    case 'snapshot-fetching':
      pageFetching(m.key);
      break;
    case 'snapshot-fetched':
      pageFetched(m.key, m.state);
      break;
  }
}

/**
 * Holds the page opened for the images its elements will run (by reference as the page wrote it),
 * one per element that will run (client/run-holds.ts): two elements of one image hold until both
 * runs started.
 */
const earlyHolds = new Map<string, Array<() => void>>();

/**
 * Ends one of the page's early holds for `image` (no effect when none is open). A wasm run calls it
 * once its own hold is open (engine-service.ts), so the gate stays closed in between.
 */
export function endEarlyHold(image: string): void {
  const held = earlyHolds.get(image);
  held?.shift()?.();
  if (held?.length === 0) earlyHolds.delete(image);
}

/** Bundled Linux images, as the page found them in the site's manifest (normalized references). */
const linuxImages = new Set<string>();

/**
 * Whether the page said `ref` is a bundled Linux image: such a run need not hold the VM's restore
 * while it finds out (runtimes.ts holdVm; the restore is then on its critical path).
 */
export function pageSaysLinux(ref: string): boolean {
  try {
    return linuxImages.has(normalizeReference(ref));
  } catch {
    return false;
  }
}

const placeKey = (p: VmPlace) => `${p.assetBase}\n${p.dbPrefix}\n${p.vmThread ?? 'inline'}`;
let started: { key: string; machine: Promise<Machine> } | undefined;

/**
 * Starts the Machine for `p` now unless one is started (a repeated call does nothing); with the
 * guest's `manifest` text as read by the page (a request less before the snapshot's key is known).
 * `by`: who asked, for the timeline (the page's early message, or the engine's first VM use).
 */
export function startVm(p: VmPlace, manifest?: string, by: 'page' | 'engine' = 'engine'): void {
  if (started) return;
  mark('vm.start', { by });
  // Not even the VM's light steps run while a wasm start's hold is open (vm-hold.ts): the
  // manifest and BIOS reads, v86's compile and its 0.36 MB JS chunk, the runtime's import all
  // took this thread (and the page's cores) from the wasm container, 0.1-0.2 s under load.
  const machine = vmGate.passed('vm start').then(() => {
    // The runtime that adopts it (runtimes.ts) is asked for next.
    void import('../../runtime/vm/container-runtime.ts').catch(() => {});
    return Machine.start(vmMachineOptions(p, manifest));
  });
  machine.catch(() => {});
  started = { key: placeKey(p), machine };
}

/**
 * The Machine startVm started for `p`, once (a later boot, after a crash, starts its own);
 * undefined if none was or it was for another place.
 */
export function takeVm(p: VmPlace): Promise<Machine> | undefined {
  if (!started || started.key !== placeKey(p)) return undefined;
  const { machine } = started;
  started = { key: '', machine };
  return machine;
}

/**
 * Machine options for the browser (browser-machine.ts) with this worker's additions: v86.wasm
 * compiled as soon as they are made, each step on the timeline, the page's download of the
 * shipped state, and the VM's heavy steps behind vmGate.
 */
export function vmMachineOptions(p: VmPlace, manifest?: string): Omit<MachineOptions, 'handle9p'> {
  const wasmUrl = v86WasmUrl(p.assetBase);
  // Compiling v86.wasm needs nothing else: start it now, not after the snapshot is read.
  void compiledV86(wasmUrl).catch(() => {});
  const machine = browserMachineOptions({
    assetBase: p.assetBase, dbPrefix: p.dbPrefix, ...(p.vmThread ? { thread: p.vmThread } : {}),
    wasmModule: () => compiledV86(wasmUrl),
    onYield: (inThread) => mark('vm.emulator', { yieldInThread: inThread }),
    onSnapshotFrom: (_key, from) => mark('vm.snapshot-from', { from }),
    pageSnapshot,
    ...(manifest !== undefined ? { manifest } : {}),
  });
  return {
    ...machine,
    artifacts: {
      manifest: () => timed('vm.manifest', machine.artifacts.manifest()),
      read: (name) => timed(`vm.read ${name}`, machine.artifacts.read(name)),
    },
    onPhase: (name, detail) => mark(`vm.${name}`, detail),
    snapshots: timedSnapshots(machine.snapshots!, () => vmGate.passed('snapshot read')),
    spawnWorker: async () => bootAfter(await machine.spawnWorker(), () => vmGate.passed('emulator build')),
  };
}

let v86Module: Promise<WebAssembly.Module> | undefined;
/** The page's compile of v86.wasm, by URL, awaited (its `v86` message settles it). */
const pageV86 = new Map<string, (m: WebAssembly.Module | null) => void>();

/**
 * v86.wasm compiled once per engine worker, streaming (compiles while it downloads), or taken
 * from the page: its main thread is idle while this worker's script loads (0.1-0.4 s), so it
 * compiles the module then and posts it (a WebAssembly.Module crosses to a worker of the page).
 */
export function compiledV86(url: string): Promise<WebAssembly.Module> {
  v86Module ??= timed('vm.v86-compile', pageCompiled.get(url) ?? WebAssembly.compileStreaming(fetch(url)));
  v86Module.catch(() => { v86Module = undefined; });
  return v86Module;
}

const pageCompiled = new Map<string, Promise<WebAssembly.Module>>();

function v86FromPage(url: string): void {
  if (v86Module || pageCompiled.has(url)) return;
  pageCompiled.set(url, new Promise<WebAssembly.Module | null>((r) => pageV86.set(url, r)).then((m) => {
    pageCompiled.delete(url);
    if (m) mark('vm.v86-from-page');
    return m ?? WebAssembly.compileStreaming(fetch(url));
  }));
}

function timedSnapshots(s: VmSnapshotStore, before: () => Promise<void>): VmSnapshotStore {
  return {
    get: (key) => before().then(() => timed('vm.snapshot-get', s.get(key))),
    put: (key, state) => timed('vm.snapshot-put', s.put(key, state)),
    delete: (key) => s.delete(key),
  };
}

// Shipped snapshots the page is fetching, by key; each is handed out once.
const fromPage = new Map<string, { state: Promise<ArrayBuffer | null>; settle(s: ArrayBuffer | null): void }>();

/** The page fetches the site's snapshot for `key` (EngineApi.snapshotFetching): a restore waits for pageFetched. */
export function pageFetching(key: string): void {
  if (fromPage.has(key)) return;
  let settle!: (s: ArrayBuffer | null) => void;
  const state = new Promise<ArrayBuffer | null>((r) => (settle = r));
  fromPage.set(key, { state, settle });
  mark('vm.snapshot-page', { fetching: true });
}

export function pageFetched(key: string, state: ArrayBuffer | null): void {
  fromPage.get(key)?.settle(state);
  mark('vm.snapshot-page', { bytes: state?.byteLength ?? 0 });
}

function pageSnapshot(key: string): Promise<ArrayBuffer | null> | undefined {
  const p = fromPage.get(key);
  // Handed out once: a later start (after a crash) reads IndexedDB or the site again.
  return p?.state.finally(() => { if (fromPage.get(key) === p) fromPage.delete(key); });
}
