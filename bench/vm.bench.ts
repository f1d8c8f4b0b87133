/**
 * Guest VM figures (issue 3): cold boot and snapshot restore to agent-ready, the stored snapshot
 * size and the first download. Boots are medians; the note carries the machine's load average,
 * since the emulator's speed is whatever CPU the other processes leave it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metric } from './run.ts';
import { Machine } from '../src/runtime/vm/machine.ts';
import { nodeArtifacts } from '../src/runtime/vm/artifacts-node.ts';
import { nodeSnapshots } from '../src/runtime/vm/snapshot-node.ts';

const COLD_RUNS = Number(process.env.SKIFF_BENCH_VM_COLD ?? 3);
const RESTORE_RUNS = Number(process.env.SKIFF_BENCH_VM_RESTORE ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<Record<string, Metric>> {
  const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
  const { value: manifest } = await nodeArtifacts().manifest();
  const download = Object.values(manifest.files).reduce((n, f) => n + f.size, 0);

  // A throwaway worker first: the first start in a process also bundles the worker entry.
  const warmup = await Machine.start({ snapshots: null });
  await warmup.shutdown();

  const cold: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const m = await Machine.start({ snapshots: null });
    cold.push(m.boot.readyMs);
    await m.shutdown();
  }
  const coldNote = load();

  const home = mkdtempSync(join(tmpdir(), 'skiff-bench-vm-'));
  try {
    const store = nodeSnapshots(home);
    const first = await Machine.start({ snapshots: store });
    const snapshotBytes = first.boot.savedBytes ?? 0;
    const rawBytes = first.boot.savedRawBytes ?? 0;
    await first.shutdown();
    const restore: number[] = [];
    for (let i = 0; i < RESTORE_RUNS; i++) {
      const m = await Machine.start({ snapshots: store });
      if (!m.boot.restored) throw new Error('bench: the snapshot did not restore');
      restore.push(m.boot.readyMs);
      await m.shutdown();
    }
    return {
      'vm.boot_ms': { value: Math.round(median(cold)), unit: 'ms', note: `cold boot to agent ready, median of ${COLD_RUNS} (${cold.map(Math.round).join(', ')}); ${coldNote}` },
      'vm.restore_ms': { value: Math.round(median(restore)), unit: 'ms', note: `snapshot restore to agent ready with clock set, median of ${RESTORE_RUNS} (${restore.map(Math.round).join(', ')}); ${load()}` },
      'vm.snapshot_bytes': { value: snapshotBytes, unit: 'bytes', note: `gzip as stored; ${rawBytes} bytes raw` },
      'vm.download_bytes': { value: download, unit: 'bytes', note: Object.entries(manifest.files).map(([f, v]) => `${f} ${v.size}`).join(', ') },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
