/**
 * What a container exit costs in storage (issue 9 item 5):
 * - state.exit_ms: Engine.persistContainer (what an exit does with the writable layer: save it and
 *   record it) after 1 MB was changed, in a container whose writable layer already holds 200 MB,
 *   on node-fs stores with fsync; median of RUNS. state.exit_ms_20mb / _100mb: the same at 20 and
 *   100 MB, to show it flat.
 * - baseline: the code before the snapshot store, measured side by side on the same layer: the
 *   whole upper re-tarred (fs/diff upperDiff + tar), stored as one blob, the record pointed at it
 *   and the previous blob collected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { putBlob } from '../src/content/store.ts';
import { upperDiff } from '../src/engine/fs-io.ts';
import { collectBlobs } from '../src/engine/images.ts';
import { writeTarChunks } from '../src/engine/tar-io.ts';
import type { ContainerRecord } from '../src/engine/types.ts';
import { Engine } from '../src/engine/engine.ts';
import type { Overlay } from '../src/fs/overlay.ts';
import { openEngine } from '../src/node.ts';
import type { Metric } from './run.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 5);
const MB = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fill(fs: Overlay, dir: string, files: number, seed: number): void {
  const root = fs.root();
  let d;
  try {
    d = fs.lookup(root, dir);
  } catch {
    d = fs.mkdir(root, dir, { mode: 0o755, uid: 0, gid: 0 });
  }
  const block = new Uint8Array(MB);
  for (let i = 0; i < files; i++) {
    for (let k = 0; k < block.length; k += 4096) block[k] = (seed + i + k) & 0xff;
    fs.write(fs.create(d, `f${seed}-${i}`, { mode: 0o644, uid: 0, gid: 0 }), 0, block);
  }
}

/** The old exit path (containers.ts saveUpper before the snapshot store), for the baseline. */
async function oldSave(e: Engine, id: string, fs: Overlay): Promise<void> {
  const parts = [...writeTarChunks(upperDiff(fs))];
  const tar = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { tar.set(p, o); o += p.byteLength; }
  await Engine.contextOf(e).state.transaction(async (tx) => {
    const rec = (await tx.get<ContainerRecord>('containers', id))!;
    const info = await putBlob(Engine.contextOf(e).content, tar);
    const old = (rec.runtimeData?.['benchBlob'] as string | undefined);
    await tx.put('containers', id, { ...rec, runtimeData: { ...rec.runtimeData, benchBlob: info.digest } });
    if (old && old !== info.digest) await collectBlobs(Engine.contextOf(e), tx, [old as never]);
  });
}

async function measure(e: Engine, layerMb: number): Promise<{ now: number; old: number }> {
  const c = await e.createContainer({ image: 'skiff/hello-wasm' });
  const fs = await e.containerFs({ id: c.id });
  fill(fs, 'big', layerMb, 0);
  await e.persistContainer({ id: c.id });
  await oldSave(e, c.id, fs);
  const now: number[] = [];
  const old: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    fill(fs, 'changes', 1, 1000 + r * 2);
    let t0 = performance.now();
    await e.persistContainer({ id: c.id });
    now.push(performance.now() - t0);
    fill(fs, 'changes', 1, 1001 + r * 2);
    await e.persistContainer({ id: c.id }); // not timed: keeps the snapshot current for the next round
    t0 = performance.now();
    await oldSave(e, c.id, fs);
    old.push(performance.now() - t0);
  }
  await e.removeContainer({ id: c.id, force: true });
  return { now: median(now), old: median(old) };
}

export async function run(): Promise<Record<string, Metric>> {
  const home = mkdtempSync(join(tmpdir(), 'skiff-bench-state-'));
  try {
    const e = await openEngine({ home });
    const out: Record<string, Metric> = {};
    for (const mb of [20, 100, 200]) {
      const m = await measure(e, mb);
      const key = mb === 200 ? 'state.exit_ms' : `state.exit_ms_${mb}mb`;
      out[key] = {
        value: Math.round(m.now * 10) / 10, unit: 'ms', baseline: Math.round(m.old * 10) / 10,
        note: `1 MB changed over a ${mb} MB writable layer, node-fs stores with fsync; baseline: the whole layer re-tarred into one blob (the code before the snapshot store); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
      };
    }
    await e.shutdown();
    return out;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
