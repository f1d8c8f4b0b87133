/**
 * The page's half of the published-ports route. The service worker (sw.ts) cannot reach the
 * engine worker itself, so the page gives it a MessagePort straight to this page's engine worker
 * (EngineApi.portChannel): its requests then skip the page. Until it has one (the worker started
 * or restarted, and so lost it) it asks an open skiff page, which asks its engine
 * (EngineApi.portRequest) and answers on the MessagePort the request came with; such a request
 * also makes this page offer a new channel. Any skiff page of the origin can answer.
 */
import type { HttpRequestLike, HttpResponseLike } from '../../net/http-port.ts';
import { transfer } from 'comlink';
import { answerPort } from '../rpc/port-channel.ts';

export interface PortRequestMessage { t: 'skiff-port-request'; port: number; request: HttpRequestLike }
/** The page's offer of a channel to its engine worker (the MessagePort travels with it). */
export interface PortChannelMessage { t: 'skiff-port-channel' }

export function bridgePortsToServiceWorker(api: {
  portRequest(port: number, r: HttpRequestLike): Promise<HttpResponseLike>;
  portChannel?(channel: MessagePort): Promise<void>;
}): void {
  const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  if (!container) return;
  let offering = false;
  /** Gives the controlling service worker a new channel to the engine worker (one offer at a time). */
  const offer = async () => {
    const sw = container.controller;
    if (!api.portChannel || !sw || offering) return;
    offering = true;
    try {
      const { port1, port2 } = new MessageChannel();
      await api.portChannel(transfer(port1, [port1])); // moved to the engine worker, not cloned
      sw.postMessage({ t: 'skiff-port-channel' } satisfies PortChannelMessage, [port2]);
    } catch { /* the old path keeps answering */ } finally {
      offering = false;
    }
  };
  container.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as PortRequestMessage | undefined;
    const reply = ev.ports[0];
    if (m?.t !== 'skiff-port-request' || !reply) return;
    void answerPort(api.portRequest, m.port, m.request).then(([r, transfer]) => reply.postMessage(r, transfer));
    void offer();
  });
  // A new worker (an update, or the ports-only one taking over) has no channel yet.
  container.addEventListener('controllerchange', () => void offer());
  void offer();
}
