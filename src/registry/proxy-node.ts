/**
 * The registry proxy a dev or preview server mounts (vite.config.ts, at /registry-proxy/): it
 * forwards what proxy.ts lets pass to any registry and its token service, following redirects
 * (blob downloads go to a CDN) on the server side, and answers the page same-origin. Headers pass
 * by list only: no cookie or origin of the page reaches a registry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { FORWARD_REQUEST, FORWARD_RESPONSE, PROXY_ERROR_HEADER, proxyTarget } from './proxy.ts';

export const REGISTRY_PROXY_PATH = '/registry-proxy';

async function body(req: IncomingMessage): Promise<Buffer | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** connect/express-style middleware; `req.url` is the path under the mount. */
export function registryProxyMiddleware(o: { fetch?: typeof fetch } = {}) {
  const fetchFn = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  return (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    const t = proxyTarget(req.url ?? '/', method);
    if ('refused' in t) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`skiff registry proxy: ${t.refused}\n`);
      return;
    }
    void (async () => {
      const headers: Record<string, string> = {};
      for (const h of FORWARD_REQUEST) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const b = await body(req);
      const up = await fetchFn(t.url, { method, headers, redirect: 'follow', ...(b ? { body: new Uint8Array(b) as BodyInit } : {}) });
      const out: Record<string, string> = {};
      for (const h of FORWARD_RESPONSE) {
        const v = up.headers.get(h);
        if (v !== null) out[h] = v;
      }
      // fetch already decoded any content-encoding: the length it sent no longer holds.
      if (up.headers.get('content-encoding')) delete out['content-length'];
      res.writeHead(up.status, out);
      if (!up.body || method === 'HEAD') {
        res.end();
        return;
      }
      Readable.fromWeb(up.body as import('node:stream/web').ReadableStream<Uint8Array>).on('error', () => res.destroy()).pipe(res);
    })().catch((err: Error & { cause?: { code?: string } }) => {
      if (res.headersSent) return void res.destroy();
      // Said in a header the client turns back into the network error it was (registry/proxy.ts).
      const reason = String(err.cause && 'message' in err.cause ? (err.cause as Error).message : err.message).replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
      res.writeHead(502, { 'content-type': 'text/plain', [PROXY_ERROR_HEADER]: reason }).end(`skiff registry proxy: ${reason}\n`);
    });
  };
}

/** A vite plugin serving the proxy from `vite` (npm start) and `vite preview` (npm run preview). */
export function registryProxyPlugin(): { name: string; configureServer(s: { middlewares: { use(path: string, fn: (req: IncomingMessage, res: ServerResponse) => void): void } }): void; configurePreviewServer(s: { middlewares: { use(path: string, fn: (req: IncomingMessage, res: ServerResponse) => void): void } }): void } {
  const mw = registryProxyMiddleware();
  return {
    name: 'skiff-registry-proxy',
    configureServer(s) { s.middlewares.use(REGISTRY_PROXY_PATH, mw); },
    configurePreviewServer(s) { s.middlewares.use(REGISTRY_PROXY_PATH, mw); },
  };
}
