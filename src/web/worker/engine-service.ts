/**
 * The engine worker's API (EngineApi over comlink): an Engine on IndexedDB, opened by `init`,
 * exposed as itself (`engine`) plus what only the worker knows (seeding, storage, VM warm-up).
 * Every call waits for init, rewrites storage-quota errors into one clear message, and throws
 * SkiffErrors whose code survives the boundary (rpc/errors.ts).
 */
import type { Engine } from '../../engine/engine.ts';
import { SkiffError } from '../../errors.ts';
import type { RunContainerOptions } from '../../engine/lifecycle.ts';
import type { Capabilities, EngineApi, InitInfo } from '../rpc/protocol.ts';
import { installEngineAdapters } from '../rpc/adapters.ts';
import { toSkiffError } from '../rpc/errors.ts';
import { normalizeReference } from '../../oci/reference.ts';
import type { HttpBundled } from './bundled-http.ts';
import { openBrowserEngine } from './open-engine.ts';
import { pullIfMissing } from '../../registry/pull-missing.ts';
import { observedRun } from './observed-run.ts';
import { browserRuntimes, type BrowserRuntimes } from './runtimes.ts';
import { explainStorageError, storageInfo } from './storage.ts';
import { mark, timed, timeline } from './timeline.ts';
import { warmFiles } from './warm-rootfs.ts';
import { endEarlyHold, pageSaysLinux } from './early-vm.ts';
import { chunksOf } from '../../util/streams.ts';
import { servePortChannel } from '../rpc/port-channel.ts';

/** `fetch` replaces how assets are fetched (Node tests); the worker uses the global one. */
export function createEngineService(o: { fetch?: typeof fetch } = {}): EngineApi {
  // The Engine's streams and callbacks cross comlink through these (a no-op without comlink).
  installEngineAdapters();
  let opened: Promise<Engine> | undefined;
  // Set by init; repeated inits (several components, one worker) share one seeding pass.
  let seeder: ((onProgress?: Parameters<EngineApi['init']>[1]) => Promise<string[]>) | undefined;
  let bundled: HttpBundled | undefined;
  let seeding: Promise<string[]> | undefined;
  let runtimes: BrowserRuntimes | undefined;
  // The Engine API's router (src/api), made on the first dockerRequest. Its code (the API, the
  // Dockerfile builder, the CLI's tables it reuses: ~0.15 MB) is a chunk of its own: the worker's
  // script is parsed before anything runs, and a page's first run needs none of it.
  let docker: Promise<(r: Request) => Promise<Response>> | undefined;
  // With a registry proxy configured, `run` pulls an image the store lacks (registry/pull-missing.ts).
  let pullMissing = false;
  const portRequest: EngineApi['portRequest'] = async (port, request) => {
    if (!runtimes?.vmStarted()) throw new SkiffError('NOT_FOUND', `no container publishes port ${port} (the Linux VM is not running)`);
    return runtimes.portRequest(port, request);
  };
  const engine = (): Promise<Engine> => {
    if (!opened) return Promise.reject(new SkiffError('INVALID_ARGUMENT', 'the engine worker was not initialised: call init({ assetBase }) first'));
    return opened;
  };
  const call = async <T>(fn: (e: Engine) => Promise<T>): Promise<T> => {
    try {
      return await fn(await engine());
    } catch (err) {
      throw explainStorageError(err, await storageInfo().catch(() => undefined));
    }
  };
  const capabilities = async (): Promise<Capabilities> => ({
    // The VM's emulator needs Web Workers (the browser); Node has its own entry point (src/node.ts).
    runLinux: typeof Worker === 'function', runWasm: true, exec: true, logs: true, volumes: true,
  });

  return {
    async init(init, onSeed): Promise<InitInfo> {
      mark('init');
      if (init.registryProxy) pullMissing = true;
      runtimes ??= browserRuntimes({ assetBase: init.assetBase, dbPrefix: init.dbPrefix ?? 'skiff', ...(init.vmThread ? { vmThread: init.vmThread } : {}), ...(init.wispRelay ? { wispRelay: init.wispRelay } : {}) });
      const b = (opened ??= openBrowserEngine({ assetBase: init.assetBase, runtimes, ...(init.dbPrefix ? { dbPrefix: init.dbPrefix } : {}), ...(init.registryProxy ? { registryProxy: init.registryProxy } : {}), ...(o.fetch ? { fetch: o.fetch } : {}) }).then((x) => {
        seeder = x.seed;
        bundled = x.bundled;
        return x.engine;
      }));
      b.catch(() => { opened = undefined; });
      await timed('engine.open', b);
      let seeded: string[] = [];
      let seedError: InitInfo['seedError'];
      if (init.seedBundled !== false) {
        try {
          seeded = await (seeding ??= seeder!(onSeed).finally(() => { seeding = undefined; }));
        } catch (err) {
          const e = toSkiffError(explainStorageError(err, await storageInfo().catch(() => undefined)));
          seedError = { code: e.code, message: `loading the bundled images: ${e.message}` };
        }
      }
      return {
        seeded, ...(seedError ? { seedError } : {}),
        crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
        storage: await storageInfo(),
        capabilities: await capabilities(),
      };
    },
    capabilities,
    storage: () => storageInfo(),

    // The Engine's own API: every method of Engine, called once init opened it. `runContainer`
    // also marks the worker's timeline, starts the VM's restore as soon as it is known to be
    // needed, and (with a registry proxy) pulls an image the store lacks (registry/pull-missing.ts).
    engine: new Proxy({} as EngineApi['engine'], {
      get: (_t, name) => typeof name !== 'string' || name === 'then' ? undefined
        : (...args: unknown[]) => call(async (e) => {
          const method = (e as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
          if (name !== 'runContainer') return method.apply(e, args);
          const o = args[0] as RunContainerOptions;
          // Until this run is known to be a Linux one, the VM's heavy restore steps wait for it: a
          // wasm container's start needs this thread (vm-hold.ts). Known here for a bundled or
          // stored Linux image; otherwise at create, first output or the end of the run.
          // (The page may have said already: early-vm.ts.)
          const releaseVm = pageSaysLinux(o.image) ? () => {} : runtimes!.holdVm();
          endEarlyHold(o.image);
          const linux = await isLinuxImage(e, bundled, o.image).catch(() => false);
          if (linux) {
            releaseVm();
            // Its create, its rootfs warm-up and the restore would all wait for a wasm start's
            // hold anyway; creating it now would make that wasm container's create wait behind
            // it (the state store's lock) instead.
            await runtimes!.vmUnheld('linux create');
          }
          if (pullMissing) await pullIfMissing(e, o.image);
          const run = observedRun(o, runtimes!, (id) => {
            const t0 = performance.now();
            // Between files the warm-up yields to a wasm start as the VM's restore does.
            e.containerFs({ id }).then((fs) => warmFiles(fs, undefined, () => runtimes!.vmUnheld('warm rootfs'))).then(
              (w) => mark('run.warm-rootfs', { ...w, ms: Math.round(performance.now() - t0) }),
              () => mark('run.warm-rootfs!'),
            );
          }, releaseVm);
          try {
            return await method.call(e, run.options);
          } finally {
            run.settled();
          }
        }),
    }),

    vmStarted: async () => runtimes?.vmStarted() ?? false,
    prepare: (o) => call(async (e) => {
      mark('prepare');
      // A bundled Linux image says so in the site's manifest: the VM restores while the image
      // is fetched and loaded, not after.
      const early = bundled ? await bundledIsLinux(bundled, o.image).catch(() => false) : false;
      if (early) void runtimes!.warmVm().catch(() => {});
      const image = await timed('prepare.image', e.resolveImage({ ref: o.image }));
      if (!early && image.platform.startsWith('linux/')) void runtimes!.warmVm().catch(() => {});
      // A wasm container's start then neither imports the runtime nor waits for a worker.
      if (!image.platform.startsWith('linux/')) void runtimes!.warmWasi().catch(() => {});
    }),
    snapshotFetching: async (key) => runtimes?.pageFetching(key),
    snapshotFetched: async (key, state) => runtimes?.pageFetched(key, state),
    timeline: async () => timeline(),
    dockerRequest: (request) => call(async (e) => {
      docker ??= import('../../api/fetch.ts').then(({ apiFetchHandler }) => apiFetchHandler({ engine: e }));
      docker.catch(() => { docker = undefined; });
      const body = request.body ? new Uint8Array(request.body) : null;
      const r = await (await docker)(new Request(new URL(request.path, 'http://docker'), { method: request.method, headers: request.headers, ...(body ? { body } : {}) }));
      // An async generator crosses the worker boundary as a transferred stream (rpc/adapters.ts).
      return { status: r.status, statusText: r.statusText, headers: [...r.headers], body: r.body ? chunksOf(r.body) : null };
    }),
    portRequest,
    portChannel: async (channel) => servePortChannel(channel, portRequest),
  };
}

/** Whether `ref` names a Linux image, by the site's bundled manifest or the store (false when neither knows it). */
async function isLinuxImage(e: Engine, bundled: HttpBundled | undefined, ref: string): Promise<boolean> {
  const [inBundle, stored] = await Promise.all([
    bundled ? bundledIsLinux(bundled, ref).catch(() => false) : false,
    e.findImage({ ref }).then((i) => i?.platform.startsWith('linux/') ?? false, () => false),
  ]);
  return inBundle || stored;
}

async function bundledIsLinux(bundled: HttpBundled, ref: string): Promise<boolean> {
  const want = normalizeReference(ref);
  const row = (await bundled.entries()).find((r) => normalizeReference(r.name) === want);
  return (row?.platform as { os?: string } | undefined)?.os === 'linux';
}
