/**
 * Node adapter: the emulator in a worker_threads Worker. Running from sources, the entry is bundled
 * with esbuild (v86 included), as the WASI runner does: Node cannot load TypeScript in a worker by
 * itself. The bundle is cached in the temp dir under a key of its inputs' sizes and mtimes, so a
 * CLI command does not pay esbuild (50-200 ms here) on every start.
 */
import { readdirSync, renameSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VmWorkerHandle } from './worker-handle.ts';

const fromSources = import.meta.url.endsWith('.ts');
const entry = new URL(`../../../workers/vm-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
let bundled: Promise<string> | null = null;

/** What the bundle is made of: this directory, the entry and v86 (by version). */
function bundleKey(): string {
  const h = createHash('sha256');
  const here = dirname(fileURLToPath(import.meta.url));
  const files = [...readdirSync(here).filter((f) => f.endsWith('.ts')).map((f) => join(here, f)), fileURLToPath(entry),
    createRequire(import.meta.url).resolve('v86/package.json'), fileURLToPath(new URL('../../errors.ts', import.meta.url))];
  for (const f of files.sort()) {
    const st = statSync(f);
    h.update(`${f}:${st.size}:${st.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function workerScript(): Promise<string> {
  if (!fromSources) return Promise.resolve(fileURLToPath(entry));
  bundled ??= (async () => {
    const outfile = join(tmpdir(), `skiff-vm-worker-${bundleKey()}.mjs`);
    try {
      statSync(outfile);
      return outfile;
    } catch {
      // not built yet
    }
    const esbuild = await import('esbuild');
    const tmp = `${outfile}.${process.pid}.tmp`;
    await esbuild.build({
      entryPoints: [fileURLToPath(entry)], bundle: true, format: 'esm', platform: 'node', target: 'node20',
      outfile: tmp, logLevel: 'error',
      // libv86 probes for `require` when it loads its wasm; give the ESM bundle one.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    renameSync(tmp, outfile); // atomic: a concurrent process sees the whole file or none
    return outfile;
  })();
  return bundled;
}

const wasmPath = createRequire(import.meta.url).resolve('v86/build/v86.wasm');
let compiled: Promise<WebAssembly.Module> | null = null;

export async function spawnNodeVmWorker(): Promise<VmWorkerHandle> {
  // execArgv: [] - the bundle needs no loader, and flags like --input-type would break the worker.
  const w = new Worker(await workerScript(), { stdout: false, stderr: false, execArgv: [] });
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
 * optimised code later, which is why this is opt-in (MachineOptions.tuneWasmTiering).
 */
let tuned = false;
export function tuneWasmTiering(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--wasm-tiering-budget=180000000');
}
