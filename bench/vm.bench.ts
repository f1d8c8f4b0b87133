/**
 * Guest VM figures (issue 3): cold boot and snapshot restore to agent-ready (clock set), the stored
 * snapshot size and the first download. Each start runs in a fresh Node process, as a CLI command
 * would: V8 caches the wasm that v86's JIT emits, so a second boot in one process is faster and
 * would flatter the figure. Medians; the notes carry the load average, since the emulator's speed
 * is whatever CPU the machine's other processes leave it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric } from './run.ts';
import { nodeArtifacts } from '../src/runtime/vm/artifacts-node.ts';

const RUNS = Number(process.env.SKIFF_BENCH_VM_RUNS ?? 3);
const machineTs = fileURLToPath(new URL('../src/runtime/vm/machine.ts', import.meta.url));
const snapshotTs = fileURLToPath(new URL('../src/runtime/vm/snapshot-node.ts', import.meta.url));
const nodeTs = fileURLToPath(new URL('../src/node.ts', import.meta.url));

interface Start { readyMs: number; restored: boolean; savedBytes?: number; savedRawBytes?: number }

/** One Machine.start in a fresh process; `home` null: no snapshots (a cold boot). */
function startInFreshProcess(home: string | null, tune: boolean): Promise<Start> {
  const code = `
    const { Machine } = await import(${JSON.stringify(machineTs)});
    const { nodeSnapshots } = await import(${JSON.stringify(snapshotTs)});
    const { nodeMachineOptions } = await import(${JSON.stringify(nodeTs)});
    const m = await Machine.start(nodeMachineOptions({ thread: 'worker', snapshots: ${home ? `nodeSnapshots(${JSON.stringify(home)})` : 'null'}, tuneWasmTiering: ${tune} }));
    console.log(JSON.stringify(m.boot));
    await m.shutdown();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`bench vm: a start failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Start);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]!);
}

async function series(n: number, f: () => Promise<Start>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await f()).readyMs);
  return out;
}

export async function run(): Promise<Record<string, Metric>> {
  const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  const { value: manifest } = await nodeArtifacts().manifest();
  const download = Object.values(manifest.files).reduce((n, f) => n + f.size, 0);
  const list = (xs: number[]) => xs.map(Math.round).join(', ');

  const cold = await series(RUNS, () => startInFreshProcess(null, false));
  const coldTuned = await series(RUNS, () => startInFreshProcess(null, true));
  const coldNote = load();

  const home = mkdtempSync(join(tmpdir(), 'skiff-bench-vm-'));
  try {
    const first = await startInFreshProcess(home, false);
    const restore = await series(RUNS + 2, async () => {
      const s = await startInFreshProcess(home, false);
      if (!s.restored) throw new Error('bench vm: the snapshot did not restore');
      return s;
    });
    return {
      'vm.boot_ms': {
        value: median(cold), unit: 'ms',
        note: `fresh process to agent ready, median of ${RUNS} (${list(cold)}); with tuneWasmTiering: ${median(coldTuned)} (${list(coldTuned)}); ${coldNote}`,
      },
      'vm.boot_tuned_ms': { value: median(coldTuned), unit: 'ms', note: 'as vm.boot_ms with tuneWasmTiering (src/node.ts, as the CLI runs it) (V8 wasm tier-up budget raised process-wide)' },
      'vm.restore_ms': {
        value: median(restore), unit: 'ms',
        note: `fresh process, snapshot restore to agent ready with the clock set, median of ${RUNS + 2} (${list(restore)}); ${load()}`,
      },
      'vm.snapshot_bytes': { value: first.savedBytes ?? 0, unit: 'bytes', note: `gzip as stored; ${first.savedRawBytes ?? 0} bytes raw` },
      'vm.download_bytes': { value: download, unit: 'bytes', note: Object.entries(manifest.files).map(([f, v]) => `${f} ${v.size}`).join(', ') },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
