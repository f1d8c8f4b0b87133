/**
 * The offline service worker (built to dist/sw.js, no imports). On install it precaches what
 * precache.json lists (the app, skiff-run.js, the bundled images, the guest artifacts); pages are
 * network-first (a fresh deploy wins when online), everything else cache-first. A new build has a
 * new precache version, so its install replaces the old cache.
 *
 * Answers come only from skiff's own cache, matched URL for URL: the origin's CacheStorage is
 * shared with every other app on it, and `caches.match` would search all of their caches too
 * (another app could plant a file we then serve cache-first). Query strings count: nothing of ours
 * is requested with one, and ignoring them would let `x?anything` hit `x`.
 */
const sw = globalThis as unknown as ServiceWorkerGlobalScope;

const PREFIX = 'skiff-precache-';

async function precacheList(): Promise<{ version: string; files: string[] }> {
  const res = await fetch(new URL('precache.json', sw.registration.scope), { cache: 'no-store' });
  if (!res.ok) throw new Error(`precache.json: HTTP ${res.status}`);
  return (await res.json()) as { version: string; files: string[] };
}

sw.addEventListener('install', (event: ExtendableEvent) => {
  event.waitUntil((async () => {
    const { version, files } = await precacheList();
    const cache = await caches.open(PREFIX + version);
    const urls = ['./', ...files].map((f) => new URL(f, sw.registration.scope).href);
    await cache.addAll(urls);
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil((async () => {
    const { version } = await precacheList().catch(() => ({ version: '' }));
    if (version) for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== PREFIX + version) await caches.delete(k);
    await sw.clients.claim();
  })());
});

/** Ours: the newest skiff-precache-<version> cache (activate deletes the older ones). */
async function ownCache(): Promise<Cache | undefined> {
  const mine = (await caches.keys()).filter((k) => k.startsWith(PREFIX));
  return mine.length ? caches.open(mine[mine.length - 1]!) : undefined;
}

async function fromCache(req: Request | URL): Promise<Response | undefined> {
  return (await (await ownCache())?.match(req instanceof URL ? req.href : req)) ?? undefined;
}

async function networkFirst(req: Request): Promise<Response> {
  try {
    const res = await fetch(req);
    if (res.ok) {
      const copy = res.clone();
      void ownCache().then((c) => c?.put(req, copy));
    }
    return res;
  } catch (err) {
    // Offline: the page itself, else (a query string, an unknown page) the page without its query,
    // else the terminal page.
    const url = new URL(req.url);
    url.search = '';
    const hit = (await fromCache(req)) ?? (req.mode === 'navigate'
      ? (await fromCache(url)) ?? (await fromCache(new URL('./', sw.registration.scope)))
      : undefined);
    if (hit) return hit;
    throw err;
  }
}

async function cacheFirst(req: Request): Promise<Response> {
  return (await fromCache(req)) ?? fetch(req);
}

sw.addEventListener('fetch', (event: FetchEvent) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== sw.location.origin) return;
  event.respondWith(req.mode === 'navigate' ? networkFirst(req) : cacheFirst(req));
});
