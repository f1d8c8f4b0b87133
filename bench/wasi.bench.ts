/**
 * WASI backend:
 * - wasi.start_ms: start-to-exit of hello.wasm through runWasi, warm (module compiled and cached,
 *   a spare worker waiting), median of 15; baseline: node:wasi running the same module in-process.
 * - wasi.speed_ratio: a CPU-bound module (sieve + FNV over 1 MiB, test/fixtures/wasi/cpu.c), node:wasi's
 *   time / ours (ours in its worker), alternating runs in the same process, best of 9 each (on a
 *   shared 2-core machine the best run is the one least disturbed by other processes; medians are
 *   in the note). Both sides run with the spare worker already started, so neither competes with
 *   a worker start.
 * - wasi.fs_call_us: cost of one filesystem call from the worker to the caller's overlay over the
 *   SharedArrayBuffer channel: (worker run - inline run) / calls, for 300 file creates + stats;
 *   the inline run (same code, same thread as the overlay) is the baseline.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import type { Metric } from './run.ts';
import { Overlay } from '../src/fs/overlay.ts';
import { compileWasi, runWasi, type RunWasiOptions } from '../src/runtime/wasi/index.ts';
import { nodeWasiSpawn } from '../src/node.ts';

const fixtures = fileURLToPath(new URL('../test/fixtures/wasi/', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function ours(bytes: Uint8Array, args: string[], extra: Partial<RunWasiOptions> = {}): Promise<number> {
  await nodeWasiSpawn().warm();
  const fs = new Overlay({ lower: null });
  const t0 = performance.now();
  const exit = await runWasi({ module: bytes, args, mounts: [{ path: '/', fs }], onStdout: () => {}, spawn: nodeWasiSpawn(), ...extra }).exited;
  const ms = performance.now() - t0;
  if (exit.exitCode !== 0) throw new Error(`${args[0]} exited ${exit.exitCode}`);
  return ms;
}

async function nodeWasi(mod: WebAssembly.Module, args: string[]): Promise<number> {
  // Our spare worker starts when our run ends: let it finish starting so it does not compete.
  await nodeWasiSpawn().warm();
  const t0 = performance.now();
  const wasi = new WASI({ version: 'preview1', args, env: {}, returnOnExit: true, stdout: 2 });
  const inst = await WebAssembly.instantiate(mod, wasi.getImportObject() as WebAssembly.Imports);
  const code = wasi.start(inst);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${args[0]} exited ${code} under node:wasi`);
  return ms;
}

export async function run(): Promise<Record<string, Metric>> {
  execFileSync('sh', [`${fixtures}build.sh`], { stdio: 'inherit' });
  const hello = new Uint8Array(readFileSync(`${fixtures}out/hello.wasm`));
  const cpu = new Uint8Array(readFileSync(`${fixtures}out/cpu.wasm`));
  const helloMod = await compileWasi(hello);
  const cpuMod = await compileWasi(cpu);

  // Warm-up: first worker, first instantiation, tier-up.
  for (let i = 0; i < 3; i++) await ours(hello, ['hello']);
  const starts: number[] = [];
  const nodeStarts: number[] = [];
  for (let i = 0; i < 15; i++) {
    starts.push(await ours(hello, ['hello']));
    nodeStarts.push(await nodeWasi(helloMod, ['hello']));
  }

  const rounds = ['cpu', '40'];
  await ours(cpu, rounds);
  await nodeWasi(cpuMod, rounds);
  const mine: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < 9; i++) {
    mine.push(await ours(cpu, rounds));
    theirs.push(await nodeWasi(cpuMod, rounds));
  }
  const ratio = Math.min(...theirs) / Math.min(...mine);

  const fsops = new Uint8Array(readFileSync(`${fixtures}out/fsops.wasm`));
  const fsArgs = ['fsops'];
  for (let i = 0; i < 300; i++) fsArgs.push('write', `/f${i}`, 'x', 'stat', `/f${i}`);
  let calls = 0;
  await ours(fsops, fsArgs, { trace: (l) => void (l.startsWith('fs ') && calls++) });
  const viaWorker: number[] = [];
  const inline: number[] = [];
  for (let i = 0; i < 7; i++) {
    viaWorker.push(await ours(fsops, fsArgs));
    inline.push(await ours(fsops, fsArgs, { mode: 'inline' }));
  }
  const perCallUs = ((median(viaWorker) - median(inline)) * 1000) / calls;
  return {
    'wasi.start_ms': { value: +median(starts).toFixed(2), unit: 'ms', baseline: +median(nodeStarts).toFixed(2), note: 'hello.wasm start-to-exit, warm; baseline node:wasi in-process' },
    'wasi.fs_call_us': { value: +perCallUs.toFixed(1), unit: 'us', note: `${calls} calls: worker ${median(viaWorker).toFixed(1)} ms, inline ${median(inline).toFixed(1)} ms` },
    'wasi.speed_ratio': { value: +ratio.toFixed(3), unit: 'x', baseline: 1, note: `cpu.wasm ${rounds[1]} rounds, best/median: ours ${Math.min(...mine).toFixed(0)}/${median(mine).toFixed(0)} ms, node:wasi ${Math.min(...theirs).toFixed(0)}/${median(theirs).toFixed(0)} ms` },
  };
}
