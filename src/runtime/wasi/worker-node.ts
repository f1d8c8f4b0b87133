/**
 * Node adapter: a worker_threads Worker running workers/wasi-worker-node.ts (bundled from sources
 * by ../worker-bundle-node.ts, as the VM's worker is).
 */
import { Worker } from 'node:worker_threads';
import { nodeWorkerScript } from '../worker-bundle-node.ts';
import type { WorkerHandle } from './worker-handle.ts';

export async function spawnNodeWorker(): Promise<WorkerHandle> {
  const w = new Worker(await nodeWorkerScript('wasi-worker-node'), { stdout: false, stderr: false });
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
