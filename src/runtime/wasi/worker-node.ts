/**
 * Node adapter: a worker_threads Worker. Node cannot load TypeScript in a worker by itself (tsx's
 * loader in a worker costs ~300 ms a start), so when running from sources the worker entry is
 * bundled once per process with esbuild (~40 ms) into a temp file; a compiled build (.js) loads
 * its sibling entry directly.
 */
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import type { WorkerHandle } from './worker-handle.ts';

const fromSources = import.meta.url.endsWith('.ts');
const entry = new URL(`../../../workers/wasi-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);

let bundled: Promise<string> | null = null;

function workerScript(): Promise<string> {
  if (!fromSources) return Promise.resolve(fileURLToPath(entry));
  bundled ??= (async () => {
    // Hidden from bundlers: esbuild is only ever loaded in Node, from sources.
    const esbuildName = 'esbuild';
    const esbuild = (await import(/* @vite-ignore */ esbuildName)) as typeof import('esbuild');
    const outfile = join(tmpdir(), `skiff-wasi-worker-${process.pid}-${Date.now()}.mjs`);
    await esbuild.build({ entryPoints: [fileURLToPath(entry)], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile, logLevel: 'error' });
    process.once('exit', () => rmSync(outfile, { force: true }));
    return outfile;
  })();
  return bundled;
}

export async function spawnNodeWorker(): Promise<WorkerHandle> {
  const w = new Worker(await workerScript(), { stdout: false, stderr: false });
  // An idle spare must not keep the caller's process alive.
  w.unref();
  await new Promise<void>((resolve, reject) => {
    const onMsg = (m: { t?: string }) => {
      if (m?.t !== 'ready') return;
      w.off('message', onMsg);
      w.off('error', reject);
      resolve();
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
  return {
    post: (msg) => w.postMessage(msg),
    onMessage: (cb) => void w.on('message', cb),
    onError: (cb) => {
      w.on('error', cb);
      w.on('exit', (code) => cb(new Error(`worker exited with code ${code}`)));
    },
    terminate: async () => void (await w.terminate()),
    ref: () => w.ref(),
  };
}
