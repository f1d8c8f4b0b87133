/**
 * The library build's worker and assets (dist/skiff-run.js): both sit beside the script itself,
 * wherever it is served from. A worker script on another origin cannot be started directly, so
 * then a same-origin blob URL imports it (the host must send CORS headers for the script).
 */
const here = new URL(/* @vite-ignore */ './', import.meta.url);
const workerFile = 'skiff-engine-worker.js';

export function spawnEngineWorkerDefault(): Worker {
  const url = new URL(workerFile, here);
  if (url.origin === globalThis.location.origin) return new Worker(url, { type: 'module', name: 'skiff-engine' });
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(shim), { type: 'module', name: 'skiff-engine' });
}

export function defaultAssetBase(): string {
  return here.href;
}
