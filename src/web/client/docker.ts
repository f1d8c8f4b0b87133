/**
 * The Docker Engine API in a page. `client.docker` (engine-client.ts) is a fetch-compatible
 * function: `docker('/v1.43/containers/json?all=1')` or `docker(new Request(...))` answers as
 * `skiff system serve` would, from the page's own engine worker (EngineApi.dockerRequest: the API's
 * router runs in the worker, beside the Engine). A prefix before the API path (the service
 * worker's `/_skiff/docker`) is dropped. Streamed answers (logs, events, pull progress, attach
 * output) arrive as a streamed body; there is no hijacked connection, so attach has no stdin.
 *
 * The service worker (sw.ts) serves the same API at `/_skiff/docker/...` to any same-origin code
 * (a fetch, an SDK pointed at it): it cannot reach the engine worker, so it asks an open skiff page
 * (`bridgeDockerToServiceWorker`), whose engine answers through a MessagePort.
 */
import type { DockerRequestLike, DockerResponseLike } from '../rpc/protocol.ts';

export const DOCKER_ROUTE = '/_skiff/docker';

export type DockerFetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

interface DockerApi {
  dockerRequest(r: DockerRequestLike): Promise<DockerResponseLike>;
}

/** A Request as it crosses to the worker: the API path (prefix dropped), headers, the body's bytes. */
export async function toDockerRequest(req: Request): Promise<DockerRequestLike> {
  const url = new URL(req.url, 'http://docker');
  const at = url.pathname.indexOf(DOCKER_ROUTE);
  const path = (at >= 0 ? url.pathname.slice(at + DOCKER_ROUTE.length) : url.pathname) || '/';
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(await req.arrayBuffer());
  return { method: req.method, path: path + url.search, headers: [...req.headers], ...(body && body.length ? { body } : {}) };
}

function toResponse(r: DockerResponseLike): Response {
  const body = r.body as ReadableStream<Uint8Array> | null;
  return new Response(r.status === 204 || r.status === 304 ? null : body, { status: r.status, statusText: r.statusText, headers: r.headers });
}

/** `fetch` for the Engine API over `api` (the engine worker). */
export function dockerFetch(api: DockerApi): DockerFetch {
  return async (input, init) => {
    // Relative paths are the API's own ("/v1.43/_ping"), whatever the page's URL.
    const req = typeof input === 'string' && input.startsWith('/') ? new Request(new URL(input, 'http://docker'), init) : new Request(input, init);
    return toResponse(await api.dockerRequest(await toDockerRequest(req)));
  };
}

export interface DockerRequestMessage { t: 'skiff-docker-request'; request: DockerRequestLike }
export type DockerReplyMessage = { ok: true; response: DockerResponseLike } | { ok: false; status: number; error: string };

/** The page's half of the service worker's `/_skiff/docker/` route. */
export function bridgeDockerToServiceWorker(api: DockerApi): void {
  const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  container?.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as DockerRequestMessage | undefined;
    const reply = ev.ports[0];
    if (m?.t !== 'skiff-docker-request' || !reply) return;
    api.dockerRequest(m.request).then(
      (response) => {
        const body = response.body as ReadableStream<Uint8Array> | null;
        reply.postMessage({ ok: true, response } satisfies DockerReplyMessage, body ? [body as unknown as Transferable] : []);
      },
      (err: { message?: string }) => reply.postMessage({ ok: false, status: 502, error: err?.message ?? String(err) } satisfies DockerReplyMessage),
    );
  });
}
