/**
 * The engine in a browser, over the browser platform's pieces (src/browser.ts: IndexedDB content,
 * state and layer stores, bundled images over HTTP), and the first-visit seeding that makes
 * `images` list the bundled images. Seeding is remembered, so an image the user removed stays
 * removed after a reload.
 */
import { createStore, get, set } from 'idb-keyval';
import { browserBundled, browserStores } from '../../browser.ts';
import { Engine } from '../../engine/engine.ts';
import { browserRegistryClient } from '../../registry/browser.ts';
import { SkiffError } from '../../errors.ts';
import { normalizeReference } from '../../oci/reference.ts';
import type { SeedProgress } from '../rpc/protocol.ts';
import type { HttpBundled } from './bundled-http.ts';
import type { BrowserRuntimes } from './runtimes.ts';
import { probeIndexedDb } from './storage.ts';

export interface BrowserEngineOptions {
  assetBase: string;
  /** Database names are "<prefix>-content", "<prefix>-state", "<prefix>-web". */
  dbPrefix?: string;
  /** How assets are fetched (tests serve them from disk). */
  fetch?: typeof fetch;
  /** The container runtimes (runtimes.ts), created on first use. */
  runtimes?: BrowserRuntimes;
  /** Registry requests go through this proxy (InitOptions.registryProxy); without it, straight to the registry (CORS permitting). */
  registryProxy?: string;
}

export interface BrowserEngine {
  engine: Engine;
  bundled: HttpBundled;
  /** Loads the bundled images not seeded before; returns the names it loaded. */
  seed(onProgress?: (p: SeedProgress) => void): Promise<string[]>;
}

export async function openBrowserEngine(o: BrowserEngineOptions): Promise<BrowserEngine> {
  const prefix = o.dbPrefix ?? 'skiff';
  // Its own database: opening an idb-keyval database before idb-keyval creates its object store
  // would leave the database without the store.
  await probeIndexedDb(`${prefix}-probe`);
  const bundled = browserBundled(o.assetBase, o.fetch);
  const engine = new Engine({
    ...browserStores(prefix),
    bundled,
    // Lower than Node's default: a tab is killed for its memory sooner than a process.
    storageQuota: { bytes: 256 * 2 ** 20, inodes: 1_000_000 },
    // Image file bytes come from IndexedDB on demand: keep half of Node's cache of them.
    layerCache: { chunkCacheBytes: 32 * 2 ** 20 },
    registry: browserRegistryClient({ dbPrefix: prefix, ...(o.registryProxy ? { proxy: o.registryProxy } : {}) }),
    ...(o.runtimes ? { runtimes: { vm: o.runtimes.vm, wasi: o.runtimes.wasi } } : {}),
  });
  const meta = createStore(`${prefix}-web`, 'meta');
  return {
    engine, bundled,
    async seed(onProgress) {
      const done = new Set((await get<string[]>('bundled-seeded', meta)) ?? []);
      const todo = (await bundled.entries()).filter((e) => !done.has(e.sha256));
      const loaded: string[] = [];
      for (const [index, e] of todo.entries()) {
        if (!(await engine.findImage({ ref: e.name }))) {
          const found = await bundled.find(normalizeReference(e.name));
          if (!found) throw new SkiffError('INTERNAL', `bundled image ${e.name} vanished from its manifest`);
          await engine.loadArchive({
            data: found.data, name: found.name, source: `bundled:${found.name}`,
            onProgress: (p) => onProgress?.({ ...p, image: e.name, index, total: todo.length }),
          });
          loaded.push(e.name);
        }
        done.add(e.sha256);
        await set('bundled-seeded', [...done], meta);
      }
      return loaded;
    },
  };
}
