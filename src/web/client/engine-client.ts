/**
 * The page's handle on the engine worker. One worker per page: every `<skiff-run>` and the
 * terminal share it (the handle is kept on globalThis, so even two copies of the script share).
 * Calls are comlink proxies of EngineApi (`api.engine` is the Engine's own API); errors arrive as
 * SkiffErrors with their codes.
 */
import { proxy, wrap, type Remote } from 'comlink';
import { installEngineAdapters } from '../rpc/adapters.ts';
import { installErrorTransfer } from '../rpc/errors.ts';
import type { EngineApi, InitInfo, OutputSink, RunRequest, RunResult, SeedProgress, WorkerEngine } from '../rpc/protocol.ts';
import type { LoadProgress, LoadResult } from '../../engine/load/loader.ts';
import { defaultAssetBase, spawnEngineWorkerDefault } from './engine-worker-url.ts';

export interface EngineClientOptions {
  /** Base URL of vm-images/... (default: beside the page, or beside skiff-run.js). */
  assetBase?: string;
  dbPrefix?: string;
  seedBundled?: boolean;
  /** Where the emulator runs (InitOptions.vmThread). */
  vmThread?: 'inline' | 'worker';
  /** InitOptions.registryProxy. */
  registryProxy?: string;
  onSeed?: (p: SeedProgress) => void;
  /** Replace the worker (tests, other bundlers). */
  spawnWorker?: () => Worker;
}

export interface EngineClient {
  readonly api: Remote<EngineApi>;
  readonly worker: Worker;
  /** Resolves once the stores are open and the bundled images seeded. */
  readonly ready: Promise<InitInfo>;
  load(file: Blob, o?: { name?: string; onProgress?: (p: LoadProgress) => void }): Promise<LoadResult>;
  run(req: RunRequest, out: OutputSink): Promise<RunResult>;
  terminate(): void;
}

const KEY = Symbol.for('skiff.engineClient');

/** Every method exists on the proxy the worker sees, so give every one a body. */
function fullSink(out: OutputSink): Required<OutputSink> {
  return {
    stdout: (d) => out.stdout(d),
    stderr: (d) => out.stderr(d),
    stdin: () => (out.stdin ? out.stdin() : Promise.resolve(null)),
    status: (text) => out.status?.(text),
    started: (info) => out.started?.(info),
  };
}

export function createEngineClient(o: EngineClientOptions = {}): EngineClient {
  installErrorTransfer();
  installEngineAdapters();
  // Ask that images and volumes not be evicted under storage pressure (only a page can ask).
  void (globalThis.navigator as Navigator | undefined)?.storage?.persist?.().catch(() => false);
  const worker = (o.spawnWorker ?? spawnEngineWorkerDefault)();
  const api = wrap<EngineApi>(worker);
  const ready = api.init(
    { assetBase: o.assetBase ?? defaultAssetBase(), ...(o.dbPrefix ? { dbPrefix: o.dbPrefix } : {}), ...(o.seedBundled === false ? { seedBundled: false } : {}), ...(o.vmThread ? { vmThread: o.vmThread } : {}), ...(o.registryProxy ? { registryProxy: o.registryProxy } : {}) },
    o.onSeed ? proxy(o.onSeed) : undefined,
  );
  return {
    api, worker, ready,
    async load(file, lo = {}) {
      await ready;
      // The Engine's own loadArchive: the Blob's stream and the progress callback cross as such.
      const name = lo.name ?? (file as File).name ?? 'archive';
      return (api.engine as unknown as WorkerEngine).loadArchive({ stream: file.stream() as unknown as AsyncIterable<Uint8Array>, size: file.size, name, source: name, ...(lo.onProgress ? { onProgress: lo.onProgress } : {}) });
    },
    async run(req, out) {
      await ready;
      return api.run(req, proxy(fullSink(out)));
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
