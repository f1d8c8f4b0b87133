/**
 * The wasm containers' workers, started from the engine worker. Normally the worker script sits
 * on our origin; when skiff-run.js is served from another origin (a CDN), a worker cannot start
 * from that URL, so a same-origin blob URL imports it instead. Keeps one spare warm.
 */
import { webWorkerSpawner, type PooledSpawn } from '../../runtime/wasi/index.ts';
// vite bundles the worker entry and gives its URL (relative to the site's base).
import wasiWorkerUrl from '../../../workers/wasi-worker.ts?worker&url';

let spawner: PooledSpawn | undefined;

export function sameOriginScriptUrl(url: URL, here: string = globalThis.location.href): string {
  if (url.origin === new URL(here).origin || url.protocol === 'blob:' || url.protocol === 'data:') return url.href;
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return URL.createObjectURL(shim);
}

export function wasiSpawner(): PooledSpawn {
  return (spawner ??= webWorkerSpawner(sameOriginScriptUrl(new URL(wasiWorkerUrl, import.meta.url))));
}
