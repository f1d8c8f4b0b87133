/**
 * The workers the engine worker starts: one per wasm container (keeping a spare warm), and the
 * VM's emulator. Normally their scripts sit on our origin; when skiff-run.js is served from
 * another origin (a CDN) a worker cannot start from that URL, so a same-origin blob URL imports it.
 */
import { webWorkerSpawner, type PooledSpawn } from '../../runtime/wasi/index.ts';
// vite bundles the worker entry and gives its URL (relative to the site's base).
import wasiWorkerUrl from '../../../workers/wasi-worker.ts?worker&url';
import vmWorkerUrl from '../../../workers/vm-worker.ts?worker&url';
import { spawnWebVmWorker } from '../../runtime/vm/worker-web.ts';
import type { VmWorkerHandle } from '../../runtime/vm/worker-handle.ts';

let spawner: PooledSpawn | undefined;

export function sameOriginScriptUrl(url: URL, here: string = globalThis.location.href): string {
  if (url.origin === new URL(here).origin || url.protocol === 'blob:' || url.protocol === 'data:') return url.href;
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return URL.createObjectURL(shim);
}

export function wasiSpawner(): PooledSpawn {
  return (spawner ??= webWorkerSpawner(sameOriginScriptUrl(new URL(wasiWorkerUrl, import.meta.url))));
}

/** The emulator's worker; v86.wasm from the site's assets (vm-images/v86.wasm). */
export function vmWorkerSpawner(wasmUrl: string): () => Promise<VmWorkerHandle> {
  return () => spawnWebVmWorker({ workerUrl: sameOriginScriptUrl(new URL(vmWorkerUrl, import.meta.url)), wasmUrl });
}
