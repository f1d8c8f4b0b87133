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
import type { HttpRequestLike } from '../net/http-port.ts';
import type { PortChannelReply, PortChannelRequest, PortReply } from './rpc/port-channel.ts';

const sw = globalThis as unknown as ServiceWorkerGlobalScope;

const PREFIX = 'skiff-precache-';
/**
 * `sw.js?ports-only` (what a `<skiff-run port>` registers when the origin has no skiff worker):
 * only the /_skiff/ routes, no precache and no caching.
 */
const PORTS_ONLY = new URL(sw.location.href).searchParams.has('ports-only');

async function precacheList(): Promise<{ version: string; files: string[] }> {
  const res = await fetch(new URL('precache.json', sw.registration.scope), { cache: 'no-store' });
  if (!res.ok) throw new Error(`precache.json: HTTP ${res.status}`);
  return (await res.json()) as { version: string; files: string[] };
}

sw.addEventListener('install', (event: ExtendableEvent) => {
  event.waitUntil((async () => {
    if (PORTS_ONLY) return sw.skipWaiting();
    const { version, files } = await precacheList();
    const cache = await caches.open(PREFIX + version);
    const urls = ['./', ...files].map((f) => new URL(f, sw.registration.scope).href);
    await cache.addAll(urls);
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil((async () => {
    const { version } = PORTS_ONLY ? { version: '' } : await precacheList().catch(() => ({ version: '' }));
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

// ---- published ports: /_skiff/ports/<port>/... is the container's server, through a skiff page ----

const PORTS = '_skiff/ports/';
const PORT_TIMEOUT_MS = 30_000;

function askPage(client: Client, port: number, request: HttpRequestLike): Promise<PortReply> {
  return new Promise((resolve, reject) => {
    const ch = new MessageChannel();
    const timer = setTimeout(() => reject(new Error('the page did not answer')), PORT_TIMEOUT_MS);
    ch.port1.onmessage = (ev) => { clearTimeout(timer); resolve(ev.data as PortReply); };
    client.postMessage({ t: 'skiff-port-request', port, request }, [ch.port2]);
  });
}

/**
 * Channels straight to pages' engine workers (client/ports-bridge.ts offers them), by the page's
 * client id: a request to a page that gave one skips the page. Lost when this worker stops; a
 * page asked the old way then offers a new one.
 */
interface EngineChannel { port: MessagePort; pending: Map<number, (r: PortReply) => void>; retired: boolean; closed: boolean }
const channels = new Map<string, EngineChannel>();
let nextId = 1;

function openChannel(clientId: string, port: MessagePort): void {
  const ch: EngineChannel = { port, pending: new Map(), retired: false, closed: false };
  port.onmessage = (ev) => {
    const { id, reply } = ev.data as PortChannelReply;
    ch.pending.get(id)?.(reply);
  };
  const old = channels.get(clientId);
  channels.set(clientId, ch);
  if (old) retire(old);
}

/** No new requests; closed once its answers are in (closing now would lose them). */
function retire(ch: EngineChannel, error?: string): void {
  ch.retired = true;
  // A closed page's engine is gone: its requests fail now, so the next page is tried.
  if (error) for (const done of [...ch.pending.values()]) done({ ok: false, status: 502, error });
  closeIfDone(ch);
}

function closeIfDone(ch: EngineChannel): void {
  if (!ch.retired || ch.pending.size || ch.closed) return;
  ch.closed = true;
  ch.port.postMessage({ close: true });
  ch.port.close();
}

function askEngine(ch: EngineChannel, port: number, request: HttpRequestLike): Promise<PortReply> {
  return new Promise((resolve) => {
    const id = nextId++;
    const done = (r: PortReply) => {
      clearTimeout(timer);
      ch.pending.delete(id);
      resolve(r);
      closeIfDone(ch);
    };
    const timer = setTimeout(() => done({ ok: false, status: 504, error: 'the page did not answer' }), PORT_TIMEOUT_MS);
    ch.pending.set(id, done);
    ch.port.postMessage({ id, port, request } satisfies PortChannelRequest);
  });
}

const plain = (status: number, text: string) => new Response(text + '\n', { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

async function portResponse(req: Request, rel: string): Promise<Response> {
  const url = new URL(req.url);
  const m = /^_skiff\/ports\/(\d{1,5})(\/.*)?$/.exec(rel.split('?')[0]!);
  if (!m) return plain(404, 'not a published port path: /_skiff/ports/<port>/');
  if (m[2] === undefined) return Response.redirect(`${url.origin}${url.pathname}/${url.search}`, 301);
  const path = m[2] + url.search;
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(await req.arrayBuffer());
  const request: HttpRequestLike = { method: req.method, path, headers: [...req.headers], ...(body ? { body } : {}) };
  const all = await sw.clients.matchAll({ type: 'window' });
  // Channels of pages that closed: their engine workers are gone.
  const open = new Set(all.map((c) => c.id));
  for (const [id, ch] of channels) if (!open.has(id)) { channels.delete(id); retire(ch, 'the page closed'); }
  // Not the frames showing a port: they have no engine and would only time out.
  const pages = all.filter((c) => !c.url.startsWith(sw.registration.scope + PORTS));
  if (!pages.length) return plain(502, 'no skiff page is open to reach the container (ports are served by the page\'s engine)');
  let last: PortReply | undefined;
  for (const page of pages) {
    const ch = channels.get(page.id);
    try {
      last = ch ? await askEngine(ch, Number(m[1]), request) : await askPage(page, Number(m[1]), request);
    } catch (err) {
      last = { ok: false, status: 504, error: (err as Error).message };
    }
    if (last.ok) {
      const r = last.response;
      const headers = new Headers();
      for (const [k, v] of r.headers) { try { headers.append(k, v); } catch { /* a header the platform refuses */ } }
      // The app is cross-origin isolated: a frame of it must say so too, or it is blocked.
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
      headers.set('Cross-Origin-Resource-Policy', 'same-origin');
      return new Response(req.method === 'HEAD' || r.status === 204 || r.status === 304 ? null : r.body as Uint8Array<ArrayBuffer>, { status: r.status, statusText: r.statusText, headers });
    }
  }
  return plain(last && !last.ok ? last.status : 502, `port ${m[1]}: ${last && !last.ok ? last.error : 'no answer'}`);
}

// ---- the Docker Engine API: /_skiff/docker/v1.43/... answered by an open skiff page's engine ----

const DOCKER = '_skiff/docker/';

type DockerReply = { ok: true; response: { status: number; statusText: string; headers: [string, string][]; body: ReadableStream<Uint8Array> | null } } | { ok: false; status: number; error: string };

async function dockerResponse(req: Request, rel: string): Promise<Response> {
  const url = new URL(req.url);
  // Only same-origin code: a page of another origin must not drive this origin's containers.
  const origin = req.headers.get('origin');
  if (origin && origin !== url.origin) return new Response(JSON.stringify({ message: 'the Engine API is served to same-origin code only' }), { status: 403, headers: { 'content-type': 'application/json' } });
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(await req.arrayBuffer());
  const request = { method: req.method, path: `/${rel.slice(DOCKER.length).split('?')[0]}${url.search}`, headers: [...req.headers], ...(body && body.length ? { body } : {}) };
  const pages = await sw.clients.matchAll({ type: 'window' });
  if (!pages.length) return new Response(JSON.stringify({ message: 'no skiff page is open: the Engine API is served by a page\'s engine' }), { status: 502, headers: { 'content-type': 'application/json' } });
  const reply = await new Promise<DockerReply>((resolve) => {
    const ch = new MessageChannel();
    const timer = setTimeout(() => resolve({ ok: false, status: 504, error: 'the page did not answer' }), PORT_TIMEOUT_MS);
    ch.port1.onmessage = (ev) => { clearTimeout(timer); resolve(ev.data as DockerReply); };
    pages[0]!.postMessage({ t: 'skiff-docker-request', request }, [ch.port2]);
  });
  if (!reply.ok) return new Response(JSON.stringify({ message: reply.error }), { status: reply.status, headers: { 'content-type': 'application/json' } });
  const r = reply.response;
  return new Response(req.method === 'HEAD' || r.status === 204 || r.status === 304 ? null : r.body, { status: r.status, statusText: r.statusText, headers: r.headers });
}

// A page loaded past the worker (a hard reload) asks to be controlled, to answer for its ports.
sw.addEventListener('message', (event: ExtendableMessageEvent) => {
  const t = (event.data as { t?: string } | null)?.t;
  if (t === 'skiff-claim') event.waitUntil(sw.clients.claim());
  // A page's channel to its engine worker (client/ports-bridge.ts).
  const source = event.source;
  if (t === 'skiff-port-channel' && event.ports[0] && source && 'id' in source && 'url' in source) openChannel(source.id, event.ports[0]);
});

sw.addEventListener('fetch', (event: FetchEvent) => {
  const req = event.request;
  const rel = req.url.startsWith(sw.registration.scope) ? req.url.slice(sw.registration.scope.length) : '';
  if (rel.startsWith(PORTS)) { event.respondWith(portResponse(req, rel)); return; }
  if (rel.startsWith(DOCKER)) { event.respondWith(dockerResponse(req, rel)); return; }
  if (PORTS_ONLY || req.method !== 'GET' || new URL(req.url).origin !== sw.location.origin) return;
  event.respondWith(req.mode === 'navigate' ? networkFirst(req) : cacheFirst(req));
});
