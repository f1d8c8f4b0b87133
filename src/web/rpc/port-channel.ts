/**
 * The published-ports route's answer, made where the request is answered: in the page (the
 * service worker asked it, client/ports-bridge.ts) or in the engine worker itself, over a
 * MessagePort the page gave both the engine worker and the service worker (a request then skips
 * `clients.matchAll`'s page hop and the page's main thread: ~1-2 ms of each request,
 * notes/web-rps.md). Both give the same reply, so a client sees the same response either way.
 */
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';

export type PortReply = { ok: true; response: HttpResponseLike } | { ok: false; status: number; error: string };

/** What the service worker sends on a port channel, and what comes back. */
export interface PortChannelRequest { id: number; port: number; request: HttpRequestLike }
export interface PortChannelReply { id: number; reply: PortReply }

/** The reply for one request, with the body's buffer to transfer (not copy) when it succeeded. */
export async function answerPort(
  portRequest: (port: number, r: HttpRequestLike) => Promise<HttpResponseLike>, port: number, request: HttpRequestLike,
): Promise<[PortReply, Transferable[]]> {
  try {
    const response = await portRequest(port, request);
    return [{ ok: true, response }, [response.body.buffer as ArrayBuffer]];
  } catch (e) {
    const err = e as { code?: string; message?: string } | undefined;
    // NOT_FOUND (no container publishes it here): the service worker tries the origin's next page.
    return [{ ok: false, status: err?.code === 'NOT_FOUND' ? 404 : 502, error: err?.message ?? String(e) }, []];
  }
}

/**
 * The engine worker's end of a port channel: answers each request on it, concurrently, in any
 * order (the id pairs them). `{ close: true }` from the service worker ends it.
 */
export function servePortChannel(channel: MessagePort, portRequest: (port: number, r: HttpRequestLike) => Promise<HttpResponseLike>): void {
  channel.onmessage = (ev: MessageEvent) => {
    const m = ev.data as PortChannelRequest | { close: true };
    if ('close' in m) { channel.close(); return; }
    void answerPort(portRequest, m.port, m.request).then(([reply, transfer]) => {
      channel.postMessage({ id: m.id, reply } satisfies PortChannelReply, transfer);
    });
  };
}
