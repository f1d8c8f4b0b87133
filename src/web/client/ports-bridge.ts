/**
 * The page's half of the published-ports route: the service worker (sw.ts) cannot reach the
 * engine worker, so it asks an open skiff page, which asks its engine (EngineApi.portRequest) and
 * answers on the MessagePort the request came with. Any skiff page of the origin can answer.
 */
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';

export interface PortRequestMessage { t: 'skiff-port-request'; port: number; request: HttpRequestLike }
export type PortReplyMessage = { ok: true; response: HttpResponseLike } | { ok: false; status: number; error: string };

export function bridgePortsToServiceWorker(api: { portRequest(port: number, r: HttpRequestLike): Promise<HttpResponseLike> }): void {
  const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  container?.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as PortRequestMessage | undefined;
    const reply = ev.ports[0];
    if (m?.t !== 'skiff-port-request' || !reply) return;
    api.portRequest(m.port, m.request).then(
      (response) => reply.postMessage({ ok: true, response } satisfies PortReplyMessage, [response.body.buffer as ArrayBuffer]),
      (err: { code?: string; message?: string }) => reply.postMessage({
        ok: false, status: err?.code === 'NOT_FOUND' ? 404 : 502, error: err?.message ?? String(err),
      } satisfies PortReplyMessage),
    );
  });
}
