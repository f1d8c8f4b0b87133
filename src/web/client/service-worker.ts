/**
 * Registers the offline service worker (dist/sw.js) on built sites. The dev server serves modules
 * one by one and changes them under us, so there it is skipped.
 */
export async function registerServiceWorker(o: { url?: string | URL; force?: boolean } = {}): Promise<ServiceWorkerRegistration | undefined> {
  if (!('serviceWorker' in navigator)) return undefined;
  const dev = (import.meta as { env?: { DEV?: boolean } }).env?.DEV === true;
  if (dev && !o.force) return undefined;
  try {
    const url = o.url ?? new URL('sw.js', document.baseURI.replace(/docs\/[^/]*$/, ''));
    return await navigator.serviceWorker.register(url, { type: 'module', scope: new URL('./', url).href });
  } catch (err) {
    console.warn(`skiff: offline support unavailable: ${(err as Error).message}`);
    return undefined;
  }
}

let controlled: Promise<boolean> | undefined;

/**
 * Makes sure a service worker serves /_skiff/ports/ to this page; false if it cannot. If the origin
 * has none yet, registers it in its ports-only mode (no precache: an element should not make the
 * page download the whole site; under the dev server no cache at all). A built site's full worker
 * replaces it later and serves the ports the same way.
 */
export function ensurePortsServiceWorker(assetBase: string): Promise<boolean> {
  return controlled ??= (async () => {
    const sw = globalThis.navigator?.serviceWorker;
    if (!sw) return false;
    if (sw.controller) return true;
    // The worker lives beside the site's assets (the page's origin only).
    const base = new URL(assetBase, document.baseURI);
    if (base.origin !== location.origin) return false;
    const existing = await sw.getRegistration(base.href).catch(() => undefined);
    if (!existing) {
      const url = new URL('sw.js?ports-only', base);
      try {
        await sw.register(url, { type: 'module', scope: base.href });
      } catch (err) {
        console.warn(`skiff: no service worker for the port preview: ${(err as Error).message}`);
        return false;
      }
    }
    // The worker claims open pages when it activates; a page loaded past an active one (a hard
    // reload) asks it to.
    const reg = await Promise.race([sw.ready, new Promise<undefined>((r) => setTimeout(r, 30_000))]);
    if (!sw.controller) {
      const changed = new Promise((r) => { sw.addEventListener('controllerchange', r, { once: true }); setTimeout(r, 10_000); });
      reg?.active?.postMessage({ t: 'skiff-claim' });
      await changed;
    }
    return sw.controller !== null;
  })();
}
