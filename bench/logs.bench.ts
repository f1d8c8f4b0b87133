/**
 * What a line of container output costs to keep (issue 9 item 5):
 * - logs.append_us: per line, for a container that has already logged 8 MB: LINES lines of 100
 *   bytes pushed into its log and saved once (engine/logs.ts: the new records appended to the
 *   node-fs snapshot store, fsync), divided by LINES; median of RUNS.
 * - baseline: the code before, side by side: the same lines pushed into an in-memory buffer, then
 *   the periodic save that re-encoded the whole log (JSON + base64) into a new blob and pointed the
 *   record at it (it ran every 2 s while a container ran).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { putBlob } from '../src/content/store.ts';
import { collectBlobs } from '../src/engine/images.ts';
import { ContainerLog, type LogEntry } from '../src/engine/logs.ts';
import type { ContainerRecord } from '../src/engine/types.ts';
import { Engine } from '../src/engine/engine.ts';
import { toBase64 } from '../src/util/base64.ts';
import { openEngine } from '../src/node.ts';
import type { Metric } from './run.ts';

const RUNS = Number(process.env.SKIFF_BENCH_RUNS ?? 7);
const LINES = 1000;
const LIMIT = 8 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The log as lifecycle.ts kept it before engine/logs.ts: a ring in memory, saved whole. */
class OldLog {
  readonly entries: LogEntry[] = [];
  #bytes = 0;
  push(stream: LogEntry['stream'], data: Uint8Array): void {
    this.entries.push({ time: new Date().toISOString(), stream, data: data.slice() });
    this.#bytes += data.byteLength;
    while (this.#bytes > LIMIT && this.entries.length > 1) this.#bytes -= this.entries.shift()!.data.byteLength;
  }
  encode(): Uint8Array {
    const lines = this.entries.map((e) => JSON.stringify({ t: e.time, s: e.stream, d: toBase64(e.data) }));
    return new TextEncoder().encode(lines.join('\n') + (lines.length ? '\n' : ''));
  }
}

export async function run(): Promise<Record<string, Metric>> {
  const home = mkdtempSync(join(tmpdir(), 'skiff-bench-logs-'));
  try {
    const e = await openEngine({ home });
    const c = await e.createContainer({ image: 'skiff/hello-wasm' });
    const line = new TextEncoder().encode(`${'y'.repeat(99)}\n`);
    const log = await ContainerLog.open(Engine.contextOf(e), c, { flushMs: 3_600_000 });
    const old = new OldLog();
    for (let i = 0; i < LIMIT / line.length; i++) {
      log.push('stdout', line);
      old.push('stdout', line);
    }
    await log.flush();
    const now: number[] = [];
    const before: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let t0 = performance.now();
      for (let i = 0; i < LINES; i++) log.push('stdout', line);
      await log.flush();
      now.push(((performance.now() - t0) * 1000) / LINES);
      t0 = performance.now();
      for (let i = 0; i < LINES; i++) old.push('stdout', line);
      const blob = old.encode();
      await Engine.contextOf(e).state.transaction(async (tx) => {
        const cur = (await tx.get<ContainerRecord>('containers', c.id))!;
        const info = await putBlob(Engine.contextOf(e).content, blob);
        const prev = cur.runtimeData?.['benchLogs'] as string | undefined;
        await tx.put('containers', c.id, { ...cur, runtimeData: { ...cur.runtimeData, benchLogs: info.digest } });
        if (prev && prev !== info.digest) await collectBlobs(Engine.contextOf(e), tx, [prev as never]);
      });
      before.push(((performance.now() - t0) * 1000) / LINES);
    }
    await log.close();
    await e.shutdown();
    return {
      'logs.append_us': {
        value: Math.round(median(now) * 100) / 100, unit: 'us', baseline: Math.round(median(before) * 100) / 100,
        note: `per 100-byte line, ${LINES} lines then one save, after 8 MB logged, node-fs stores with fsync; baseline: the whole log re-encoded into a new blob per save (the code before, every 2 s); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
      },
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
