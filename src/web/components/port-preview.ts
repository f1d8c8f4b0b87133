/**
 * `<skiff-run port="80">`'s preview: the run publishes that container port, and once the
 * container answers on it a frame under the output shows `/_skiff/ports/<host port>/`, the path
 * the service worker (sw.ts) serves by asking this page's engine (ports-bridge.ts). The link is
 * shown at once; the frame waits until the server answers, so a reader never sees a refused page.
 *
 * The page must be controlled by skiff's service worker for that path (service-worker.ts
 * ensurePortsServiceWorker).
 */
import { SkiffError } from '../../errors.ts';
import type { HttpRequestLike } from '../../net/http-port.ts';
import { boundPorts } from '../../runtime/spec/ports.ts';
import type { EngineClient } from '../client/engine-client.ts';
import type { WorkerEngine } from '../rpc/protocol.ts';
import { bridgePortsToServiceWorker } from '../client/ports-bridge.ts';
import { ensurePortsServiceWorker } from '../client/service-worker.ts';

/** The `port` attribute: one TCP port of the container, 1-65535. */
export function parsePortAttribute(value: string): number {
  const n = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new SkiffError('INVALID_ARGUMENT', `<skiff-run> port="${value}": expected a TCP port number from 1 to 65535`);
  return n;
}

const bridged = new WeakSet<EngineClient>();
export interface PreviewView {
  /** Where the link and the notes go. */
  note(html: { text: string; href?: string }): void;
  /** Shows the frame at this URL. */
  show(url: string): void;
}

/**
 * Follows one run's published port: finds the host port the engine gave it, shows the link, then
 * polls the container (straight through the engine) until it answers and shows the frame.
 * Resolves when shown, or quietly when `alive()` turns false first.
 */
export async function followPort(o: {
  client: EngineClient; assetBase: string; id: string; port: number; view: PreviewView; alive: () => boolean;
}): Promise<void> {
  const { client, id, port, view, alive } = o;
  if (!bridged.has(client)) {
    bridged.add(client);
    bridgePortsToServiceWorker({ portRequest: (p, r) => client.api.portRequest(p, r), portChannel: (ch) => client.api.portChannel(ch) });
  }
  const swReady = ensurePortsServiceWorker(o.assetBase);
  const engine = client.api.engine as unknown as WorkerEngine;
  const rec = await engine.inspectContainer({ id });
  const hostPort = boundPorts(rec).find((p) => p.containerPort === port && p.proto === 'tcp')?.hostPort;
  if (hostPort === undefined) throw new SkiffError('NOT_FOUND', `port ${port}/tcp of the container was not published`);
  const url = new URL(`_skiff/ports/${hostPort}/`, new URL(o.assetBase, document.baseURI)).href;
  view.note({ text: `${port}/tcp is published at ${url} (waiting for the container to listen…)`, href: url });
  const probe: HttpRequestLike = { method: 'HEAD', path: '/', headers: [] };
  for (let delay = 100; alive(); delay = Math.min(delay * 2, 1000)) {
    try {
      await client.api.portRequest(hostPort, probe);
      break; // any HTTP answer: the server is up
    } catch { /* refused (not listening yet) or no VM yet */ }
    await new Promise((r) => setTimeout(r, delay));
  }
  if (!alive()) return;
  if (!(await swReady)) {
    view.note({ text: `${port}/tcp is published at ${url} (no preview: the page has no skiff service worker to serve it)`, href: url });
    return;
  }
  view.note({ text: `${port}/tcp is published at ${url}`, href: url });
  view.show(url);
}
