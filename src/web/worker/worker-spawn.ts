/**
 * The workers the engine worker starts for wasm containers: one per container, keeping a spare
 * warm. Normally their scripts sit on our origin; when skiff-run.js is served from another origin
 * (a CDN) a worker cannot start from that URL, so a same-origin blob URL imports it. The VM's own
 * worker (vm-worker-spawn.ts) is a module apart: the library build inlines what it references
 * (v86.wasm, 2.8 MB of base64), which the wasm path must not load.
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
