/**
 * Logs are appended: a save writes what is new (and deletes what fell out of the limit), never
 * the whole log; another process's reader keeps seeing new output after the limit is reached.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { putBlob } from '../../src/content/store.ts';
import type { EngineContext } from '../../src/engine/context.ts';
import { ContainerLog, readLogs } from '../../src/engine/logs.ts';
import { MemorySnapshotStore } from '../../src/engine/snapshots/memory.ts';
import type { RecordOp, SnapshotStore } from '../../src/engine/snapshots/store.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { ContainerRecord } from '../../src/engine/types.ts';

const te = new TextEncoder();
const td = new TextDecoder();

function setup(): { ctx: EngineContext; batches: number[] } {
  const inner = new MemorySnapshotStore();
  const batches: number[] = [];
  const snapshots: SnapshotStore = {
    kind: 'memory', read: (k) => inner.read(k), remove: (k) => inner.remove(k), list: () => inner.list(), usage: (k) => inner.usage(k),
    open: async (key) => {
      const w = await inner.open(key);
      return { key, records: w.records, get bytes() { return w.bytes; }, close: () => w.close(), commit: (ops: Iterable<RecordOp>) => {
        const list = [...ops];
        batches.push(list.reduce((n, o) => n + o.key.length + (o.value?.length ?? 0), 0));
        return w.commit(list);
      } };
    },
  };
  return { ctx: { content: new MemoryContentStore(), state: new MemoryStateStore(), snapshots, now: () => new Date() }, batches };
}

const rec = (id: string, extra: Partial<ContainerRecord> = {}): ContainerRecord => ({ id, ...extra }) as ContainerRecord;

describe('container logs', () => {
  it('a save after 8 MB of output writes only the new lines', async () => {
    const { ctx, batches } = setup();
    const log = await ContainerLog.open(ctx, rec('c1'), { flushMs: 60_000 });
    const line = te.encode(`${'x'.repeat(1023)}\n`);
    for (let i = 0; i < 8192; i++) log.push('stdout', line);
    await log.flush();
    log.push('stderr', te.encode('one more\n'));
    await log.flush();
    expect(batches[0]).toBeGreaterThan(8 << 20);
    expect(batches[1]).toBeLessThan(200);
    await log.close();
    const back = await readLogs(ctx, rec('c1'));
    expect(back.length).toBe(8192); // the oldest line made room: 8 MiB is the limit
    expect(back.at(-1)).toMatchObject({ stream: 'stderr' });
    expect(td.decode(back.at(-1)!.data)).toBe('one more\n');
  });

  it('keeps the newest output within the limit, and another reader keeps up after the limit is reached', async () => {
    const { ctx } = setup();
    const log = await ContainerLog.open(ctx, rec('c2'), { flushMs: 60_000, limit: 10_000 });
    for (let i = 0; i < 50; i++) log.push('stdout', te.encode(`${String(i).padStart(999, '.')}\n`));
    await log.flush();
    const first = await readLogs(ctx, rec('c2'));
    expect(first.reduce((n, e) => n + e.data.length, 0)).toBeLessThanOrEqual(10_000);
    expect(td.decode(first.at(-1)!.data).trim().replace(/^\.+/, '')).toBe('49');
    for (let i = 50; i < 60; i++) log.push('stdout', te.encode(`${String(i).padStart(999, '.')}\n`));
    await log.flush();
    const later = await readLogs(ctx, rec('c2'));
    expect(td.decode(later.at(-1)!.data).trim().replace(/^\.+/, '')).toBe('59');
    expect(later.length).toBe(first.length);
    expect((await ctx.snapshots.read('logs/c2')).size).toBe(later.length);
    await log.close();
  });

  it('a restart continues the earlier runs\' log; a log saved as one blob by an older skiff carries over', async () => {
    const { ctx } = setup();
    const a = await ContainerLog.open(ctx, rec('c3'));
    a.push('stdout', te.encode('run 1\n'));
    await a.close();
    const b = await ContainerLog.open(ctx, rec('c3'));
    b.push('stdout', te.encode('run 2\n'));
    await b.close();
    expect((await readLogs(ctx, rec('c3'))).map((e) => td.decode(e.data))).toEqual(['run 1\n', 'run 2\n']);

    const blob = te.encode(`${JSON.stringify({ t: '2024-01-01T00:00:00.000Z', s: 'stderr', d: btoa('old\n') })}\n`);
    const info = await putBlob(ctx.content, blob);
    const legacy = rec('c4', { logs: { digest: info.digest, size: info.size } });
    expect((await readLogs(ctx, legacy)).map((e) => [e.stream, td.decode(e.data), e.time])).toEqual([['stderr', 'old\n', '2024-01-01T00:00:00.000Z']]);
    const c = await ContainerLog.open(ctx, legacy);
    c.push('stdout', te.encode('new\n'));
    await c.close();
    expect((await readLogs(ctx, rec('c4'))).map((e) => td.decode(e.data))).toEqual(['old\n', 'new\n']);
  });

  it('output is stored within the flush interval without anyone asking', async () => {
    const { ctx } = setup();
    const log = await ContainerLog.open(ctx, rec('c5'), { flushMs: 20 });
    log.push('stdout', te.encode('soon\n'));
    await new Promise((r) => setTimeout(r, 100));
    expect((await readLogs(ctx, rec('c5'))).length).toBe(1);
    await log.close();
  });
});
