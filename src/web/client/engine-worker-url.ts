/**
 * Where the engine worker and the static assets are, for the site (dev server and `vite build`):
 * vite follows the `new URL(..., import.meta.url)` worker pattern and bundles the worker; assets
 * sit under the page's base. The library build swaps this file for engine-worker-url.lib.ts.
 */
export function spawnEngineWorkerDefault(): Worker {
  return new Worker(new URL('../../../workers/engine-worker.ts', import.meta.url), { type: 'module', name: 'skiff-engine' });
}

export function defaultAssetBase(): string {
  // Pages live at the site root (index.html) or one level down (docs/example.html).
  const script = document.querySelector<HTMLMetaElement>('meta[name="skiff-assets"]')?.content;
  return new URL(script ?? './', document.baseURI).href;
}
