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
