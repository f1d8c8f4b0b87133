/**
 * Node adapter: the emulator in a worker_threads Worker (workers/vm-worker-node.ts, bundled from
 * sources by ../worker-bundle-node.ts), plus the Node-only pieces the in-thread emulator needs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { nodeWorkerScript } from '../worker-bundle-node.ts';
import type { VmWorkerHandle } from './worker-handle.ts';

/** node_modules' v86.wasm. */
export const v86WasmPath = createRequire(import.meta.url).resolve('v86/build/v86.wasm');
const wasmPath = v86WasmPath;
let compiled: Promise<WebAssembly.Module> | null = null;

export async function spawnNodeVmWorker(): Promise<VmWorkerHandle> {
  // execArgv: [] - the bundle needs no loader, and flags like --input-type would break the worker.
  const w = new Worker(await nodeWorkerScript('vm-worker-node'), { stdout: false, stderr: false, execArgv: [] });
  let errored = false;
  return {
    wasmPath,
    wasmModule: () => (compiled ??= readFile(wasmPath).then((b) => WebAssembly.compile(b))),
    post: (msg, transfer) => w.postMessage(msg, (transfer ?? []) as never),
    onMessage: (cb) => void w.on('message', cb),
    onError: (cb) => {
      const once = (err: Error) => { if (!errored) { errored = true; cb(err); } };
      w.on('error', once);
      w.on('exit', (code) => once(new Error(`the emulator worker exited with code ${code}`)));
    },
    terminate: async () => { errored = true; await w.terminate(); },
  };
}

/**
 * Raises V8's WebAssembly tier-up budget for the whole process. v86's JIT emits many small wasm
 * modules; with the default budget V8 re-compiles each hot one with TurboFan, which on a 2-core
 * machine costs more than it returns: cold boot 4.2 s -> 2.0 s, a 20k-step guest shell loop
 * 4.2 s -> 1.8 s (measured under load). Process-wide: other wasm here (WASI modules) reaches
 * optimised code later. src/node.ts raises it when the VM first boots.
 */
let tuned = false;
export function tuneWasmTiering(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--wasm-tiering-budget=180000000');
}
