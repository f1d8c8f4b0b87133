/**
 * The page's handle on the engine worker. One worker per page: every `<skiff-run>` and the
 * terminal share it (the handle is kept on globalThis, so even two copies of the script share).
 * Calls are comlink proxies of EngineApi (`api.engine` is the Engine's own API, typed as
 * WorkerEngine: comlink reaches a nested object's methods by path); errors arrive as SkiffErrors
 * with their codes. `run` is the Engine's runContainer with a sink, for <skiff-run> and scripts.
 */
import { proxy, wrap, type Remote } from 'comlink';
import { installEngineAdapters } from '../rpc/adapters.ts';
import { installErrorTransfer } from '../rpc/errors.ts';
import type { CreateContainerOptions } from '../../engine/containers.ts';
import type { LoadProgress, LoadResult } from '../../engine/load/loader.ts';
import type { RunOptions } from '../../runtime/spec/options.ts';
import type { EngineApi, InitInfo, SeedProgress, WorkerEngine } from '../rpc/protocol.ts';
import { defaultAssetBase, spawnEngineWorkerDefault } from './engine-worker-url.ts';
import { prefetchShippedSnapshot } from './snapshot-prefetch.ts';
import { RunHolds } from './run-holds.ts';
import { dockerFetch, type DockerFetch } from './docker.ts';
import type { EarlyMessage } from '../worker/early-vm.ts';
import { v86WasmUrl } from '../../browser-machine.ts';

export interface EngineClientOptions {
  /** Base URL of vm-images/... (default: beside the page, or beside skiff-run.js). */
  assetBase?: string;
  dbPrefix?: string;
  seedBundled?: boolean;
  /** Where the emulator runs (InitOptions.vmThread). */
  vmThread?: 'inline' | 'worker';
  /** InitOptions.registryProxy. */
  registryProxy?: string;
  /** InitOptions.wispRelay. */
  wispRelay?: string;
  onSeed?: (p: SeedProgress) => void;
  /** Replace the worker (tests, other bundlers). */
  spawnWorker?: () => Worker;
}

/** `client.run`: what to run (the Engine's create options) and how. */
export interface RunRequest extends CreateContainerOptions {
  /** Docker's run flags as parsed by runtime/spec (the CLI's parser): volumes, limits, tmpfs ... */
  run?: RunOptions;
  /** Remove the container when it exits (`--rm`). */
  rm?: boolean;
  /** Text or bytes given to the process as its whole stdin. */
  stdin?: string | Uint8Array;
  /** The terminal's size, for `-t`. */
  consoleSize?: { cols: number; rows: number };
}

export interface RunResult {
  id: string;
  name: string;
  exitCode: number;
}

export interface StartedInfo {
  id: string;
  name: string;
  runtime: string;
  /** stdin goes to a real terminal in the guest (the VM with -t), which echoes and edits itself. */
  pty: boolean;
}

/** Where a run's output goes, as it streams. */
export interface OutputSink {
  stdout(data: Uint8Array): void;
  stderr(data: Uint8Array): void;
  /** What the engine is doing before the process starts ("starting the Linux VM…"). */
  status?(text: string): void;
  /** The process started (its container ID is what `kill` takes). */
  started?(info: StartedInfo): void;
}

export interface EngineClient {
  readonly api: Remote<EngineApi>;
  readonly worker: Worker;
  /** Resolves once the stores are open and the bundled images seeded. */
  readonly ready: Promise<InitInfo>;
  load(file: Blob, o?: { name?: string; onProgress?: (p: LoadProgress) => void }): Promise<LoadResult>;
  /** The Engine's own run (create, start, wait, `--rm`) with its output streamed to `out`. */
  run(req: RunRequest, out: OutputSink): Promise<RunResult>;
  /**
   * Get ready to run `image` (EngineApi.prepare); for a bundled Linux image on a first visit the
   * page also starts the VM snapshot's download itself (snapshot-prefetch.ts). `run`: it runs at
   * once (an autorun element): until it is known to be a Linux image, or its run prints, the VM's
   * restore waits (a wasm container's start goes first: worker/vm-hold.ts). Each such call opens
   * its own hold, ended by the next run of `image` when that run ends (run-holds.ts).
   */
  prepare(image: string, o?: { run?: boolean }): Promise<void>;
  /** The Docker Engine API as `fetch` (client/docker.ts): `docker('/v1.43/containers/json')`. */
  readonly docker: DockerFetch;
  terminate(): void;
}

const KEY = Symbol.for('skiff.engineClient');

export function createEngineClient(o: EngineClientOptions = {}): EngineClient {
  installErrorTransfer();
  installEngineAdapters();
  // Ask that images and volumes not be evicted under storage pressure (only a page can ask).
  void (globalThis.navigator as Navigator | undefined)?.storage?.persist?.().catch(() => false);
  const assetBase = o.assetBase ?? defaultAssetBase();
  const worker = (o.spawnWorker ?? spawnEngineWorkerDefault)();
  const api = wrap<EngineApi>(worker);
  const ready = api.init(
    { assetBase, ...(o.dbPrefix ? { dbPrefix: o.dbPrefix } : {}), ...(o.seedBundled === false ? { seedBundled: false } : {}), ...(o.vmThread ? { vmThread: o.vmThread } : {}), ...(o.registryProxy ? { registryProxy: o.registryProxy } : {}), ...(o.wispRelay ? { wispRelay: o.wispRelay } : {}) },
    o.onSeed ? proxy(o.onSeed) : undefined,
  );
  const docker = dockerFetch({ dockerRequest: async (r) => { await ready; return api.dockerRequest(r); } });
  const dbPrefix = o.dbPrefix ?? 'skiff';
  // Answered by the worker's entry at once, not after the engine's code loaded (worker/early-vm.ts).
  const early = (m: EarlyMessage, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  // Runs about to start or running that may be wasm ones: one hold each (run-holds.ts).
  const holds = new RunHolds(early);
  /** `run`: the Engine's own run (create, start, wait, `--rm`) with its output streamed to `out`. */
  const runOnce = async (req: RunRequest, out: OutputSink): Promise<RunResult> => {
    await ready;
    const { rm, run, ...create } = req;
    const engine = api.engine as unknown as WorkerEngine;
    const r = await engine.runContainer({
      ...create, run: { ...run, ...(rm ? { rm: true } : {}) },
      io: { onStdout: (d) => out.stdout(d), onStderr: (d) => out.stderr(d) },
      onCreated: async (rec) => {
        if (out.status && rec.runtime === 'vm' && !(await api.vmStarted())) out.status('starting the Linux VM…');
      },
      onStarted: ({ container: c }) => out.started?.({ id: c.id, name: c.name, runtime: c.runtime, pty: c.spec.tty && c.runtime === 'vm' }),
    });
    if (r.exit.error) out.stderr(new TextEncoder().encode(`skiff: ${r.exit.error}\n`));
    return { id: r.id, name: r.name, exitCode: r.exit.exitCode };
  };
  return {
    api, worker, ready, docker,
    prepare(image, po = {}) {
      // Until the page knows what `image` is, a wasm start's hold is open in the worker already
      // (an element that waits for its Run button holds nothing: it would only delay the VM).
      const hold = po.run ? holds.hold(image) : undefined;
      void prefetchShippedSnapshot({
        snapshotFetching: async (key) => early({ skiffEarly: 'snapshot-fetching', key }),
        snapshotFetched: async (key, state) => early({ skiffEarly: 'snapshot-fetched', key, state }, state ? [state] : []),
      }, {
        assetBase, dbPrefix, image,
        // The page learns this while the worker's thread starts: the worker restores the VM at once.
        onLinux: (manifest) => {
          holds.linux(image);
          // v86.wasm compiles here meanwhile too (off this thread), for the emulator in the engine
          // worker; not while another element's run may be a wasm one that goes first (the compile
          // takes the cores it needs; the worker compiles once that run printed).
          const v86 = o.vmThread === 'worker' || typeof WebAssembly.compileStreaming !== 'function' || holds.size ? undefined : v86WasmUrl(assetBase);
          early({ skiffEarly: 'vm', assetBase, dbPrefix, image, ...(manifest ? { manifest } : {}), ...(o.vmThread ? { vmThread: o.vmThread } : {}), ...(v86 ? { v86 } : {}) });
          if (v86) {
            // Whatever happens the worker is told: it waits for this before compiling itself.
            const none = () => early({ skiffEarly: 'v86', url: v86, module: null });
            WebAssembly.compileStreaming(fetch(v86)).then((module) => {
              try {
                early({ skiffEarly: 'v86', url: v86, module });
              } catch {
                none(); // a module that cannot cross (DataCloneError)
              }
            }, none);
          }
        },
      }).then((outcome) => {
        // A Linux image (its 'vm' message ended the hold) or not known here ('busy': the first
        // visit's download is under way): only a wasm image keeps its hold until its run.
        if (outcome !== 'not-linux' && hold) holds.end(hold);
      }, () => { if (hold) holds.end(hold); });
      return api.prepare({ image });
    },
    async load(file, lo = {}) {
      await ready;
      // The Engine's own loadArchive: the Blob's stream and the progress callback cross as such.
      const name = lo.name ?? (file as File).name ?? 'archive';
      return (api.engine as unknown as WorkerEngine).loadArchive({ stream: file.stream() as unknown as AsyncIterable<Uint8Array>, size: file.size, name, source: name, ...(lo.onProgress ? { onProgress: lo.onProgress } : {}) });
    },
    async run(req, out) {
      const hold = holds.claim(req.image);
      try {
        return await runOnce(req, out);
      } finally {
        if (hold) holds.end(hold);
      }
    },
    terminate() {
      worker.terminate();
      if ((globalThis as Record<symbol, unknown>)[KEY] === shared) (globalThis as Record<symbol, unknown>)[KEY] = undefined;
    },
  };
}

let shared: EngineClient | undefined;

/** The page's one engine client, created on first use with the first caller's options. */
export function sharedEngineClient(o: EngineClientOptions = {}): EngineClient {
  const g = globalThis as Record<symbol, EngineClient | undefined>;
  shared = g[KEY] ??= createEngineClient(o);
  return shared;
}
