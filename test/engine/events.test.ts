/**
 * Docker's events: the filters and times (sans IO), the Node journal several processes append to
 * at once (whole lines only, bounded by rotation, tailed across a rotation), and an engine's own
 * operations recorded and watched (`since`/`until`, following).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { checkEventFilters, matchEvent, parseEventTime, parseFilterArgs } from '../../src/engine/events/filter.ts';
import { MemoryEventJournal } from '../../src/engine/events/memory.ts';
import { NodeFsEventJournal } from '../../src/engine/events/node-fs.ts';
import { makeEvent, type EngineEvent } from '../../src/engine/events/types.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeWasiSpawn } from '../../src/node.ts';
import { WasiRuntime } from '../../src/runtime/wasi/runtime.ts';
import { isSkiffError } from '../../src/errors.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'skiff-events-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const ev = (type: EngineEvent['Type'], action: string, id: string, attrs: Record<string, string> = {}, ms = 1_700_000_000_000) => makeEvent(type, action, id, attrs, ms);

describe('filters and times (Docker\'s rules)', () => {
  const c = ev('container', 'start', 'abc123def', { name: 'web', image: 'busybox:latest', 'com.x': 'y' });
  const net = ev('network', 'connect', 'n1', { name: 'front', type: 'bridge', container: 'abc123def' });
  const img = ev('image', 'tag', 'sha256:0011', { name: 'app:1' });
  const exec = ev('container', 'exec_start: sh -c ls', 'abc123def', { name: 'web', execID: 'e1' });

  it('match as moby daemon/events/filter.go does', () => {
    expect(matchEvent({}, c)).toBe(true);
    expect(matchEvent({ type: ['container'] }, c)).toBe(true);
    expect(matchEvent({ type: ['image'] }, c)).toBe(false);
    expect(matchEvent({ container: ['abc'] }, c)).toBe(true); // ID prefix
    expect(matchEvent({ container: ['web'] }, c)).toBe(true); // name
    expect(matchEvent({ container: ['other'] }, c)).toBe(false);
    // A network event's actor is the network: `container=` does not select it (as Docker).
    expect(matchEvent({ container: ['web'] }, net)).toBe(false);
    expect(matchEvent({ network: ['front'] }, net)).toBe(true);
    expect(matchEvent({ image: ['busybox'] }, c)).toBe(true); // tag stripped
    expect(matchEvent({ image: ['app'] }, img)).toBe(true);
    expect(matchEvent({ image: ['app:2'] }, img)).toBe(false);
    expect(matchEvent({ label: ['com.x'] }, c)).toBe(true);
    expect(matchEvent({ label: ['com.x=y'] }, c)).toBe(true);
    expect(matchEvent({ label: ['com.x=z'] }, c)).toBe(false);
    expect(matchEvent({ event: ['start'] }, c)).toBe(true);
    expect(matchEvent({ event: ['exec_start'] }, exec)).toBe(true); // the exec_* prefix quirk
    expect(matchEvent({ event: ['exec_start', 'die'] }, c)).toBe(false);
    expect(matchEvent({ event: ['die'] }, c)).toBe(false);
  });

  it('unknown keys and types, and words without "=", are refused with Docker\'s messages', () => {
    expect(() => checkEventFilters({ bogus: ['1'] })).toThrow("invalid filter 'bogus'");
    expect(() => checkEventFilters({ type: ['nonsense'] })).toThrow("invalid filter 'type=nonsense'");
    expect(() => parseFilterArgs(['type'])).toThrow('bad format of filter (expected name=value)');
    expect(parseFilterArgs(['type=volume', 'type=image', 'label=a=b'])).toEqual({ type: ['volume', 'image'], label: ['a=b'] });
  });

  it('times: durations before now, Unix seconds, RFC 3339', () => {
    const now = Date.UTC(2024, 0, 2, 3, 4, 5);
    expect(parseEventTime('10m', now)).toBe(now - 600_000);
    expect(parseEventTime('1h30m', now)).toBe(now - 5_400_000);
    expect(parseEventTime('1.5s', now)).toBe(now - 1500);
    expect(parseEventTime('1700000000', now)).toBe(1_700_000_000_000);
    expect(parseEventTime('1700000000.250000000', now)).toBe(1_700_000_000_250);
    expect(parseEventTime('2024-01-02T03:00:00Z', now)).toBe(Date.UTC(2024, 0, 2, 3));
    expect(parseEventTime('2024-01-02T03:00:00+01:00', now)).toBe(Date.UTC(2024, 0, 2, 2));
    expect(() => parseEventTime('yesterday', now, '--since')).toThrow(/--since: "yesterday"/);
  });
});

/** A child process appending `n` events of ~`pad` bytes to the journal in `dir`. */
function appender(dir: string, tag: string, n: number, pad: number, maxBytes: number, pauseMs = 0): Promise<void> {
  const src = join(import.meta.dirname, '..', '..', 'src', 'engine', 'events', 'node-fs.ts');
  const code = `import { NodeFsEventJournal } from ${JSON.stringify(src)};
const j = new NodeFsEventJournal({ dir: ${JSON.stringify(dir)}, maxBytes: ${maxBytes} });
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < ${n}; i++) (${pauseMs} && Atomics.wait(pause, 0, 0, ${pauseMs})), j.append({ Type: 'volume', Action: 'create', Actor: { ID: '${tag}-' + i, Attributes: { pad: 'x'.repeat(${pad}) } }, scope: 'local', time: 1, timeNano: 1e9 });`;
  return new Promise((resolve, reject) => execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], (err) => (err ? reject(err) : resolve())));
}

describe('the Node journal', () => {
  it('four processes appending at once leave only whole lines, every event once', async () => {
    const dir = tmp();
    await Promise.all(['a', 'b', 'c', 'd'].map((t) => appender(dir, t, 300, 3000, 1 << 30)));
    const text = readFileSync(join(dir, 'events.jsonl'), 'utf8');
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1200);
    const ids = lines.map((l) => (JSON.parse(l) as EngineEvent).Actor.ID);
    expect(new Set(ids).size).toBe(1200);
    // Each appender's own events stay in its order.
    for (const t of ['a', 'b', 'c', 'd']) {
      const mine = ids.filter((i) => i.startsWith(`${t}-`)).map((i) => Number(i.slice(2)));
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
  }, 60_000);

  it('is bounded: past maxBytes it rotates to one older generation, under PIPE_BUF per line', async () => {
    const dir = tmp();
    const j = new NodeFsEventJournal({ dir, maxBytes: 20_000 });
    for (let i = 0; i < 400; i++) j.append(ev('volume', 'create', `v${i}`, { pad: 'y'.repeat(200) }));
    // An event whose labels pass PIPE_BUF keeps its core attributes only.
    j.append(ev('container', 'start', 'big', { name: 'big', image: 'i', huge: 'z'.repeat(10_000) }));
    expect(readdirSync(dir).sort()).toEqual(['events.jsonl', 'events.jsonl.1']);
    const { events } = await j.read();
    expect(events.length).toBeLessThan(400);
    expect(events.length).toBeGreaterThan(50);
    expect(events.at(-1)!.Actor).toEqual({ ID: 'big', Attributes: { name: 'big', image: 'i' } });
    const ids = events.slice(0, -1).map((e) => Number(e.Actor.ID.slice(1)));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i)); // contiguous, newest kept
    expect(ids.at(-1)).toBe(399);
  });

  it('a follower sees what another process appends, across a rotation', async () => {
    const dir = tmp();
    const j = new NodeFsEventJournal({ dir, maxBytes: 50_000, pollMs: 20 });
    j.append(ev('volume', 'create', 'before'));
    const seen: string[] = [];
    const stop = j.follow(await j.end(), (e) => seen.push(e.Actor.ID));
    await appender(dir, 'p', 100, 1000, 50_000, 5); // ~110 kB: rotates twice, slower than the polls
    for (let i = 0; i < 100 && seen.length < 100; i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => `p-${i}`));
  }, 60_000);
});

describe('an engine\'s own operations', () => {
  const journal = new MemoryEventJournal();
  const engine = new Engine({
    content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()),
    runtimes: { wasi: async () => new WasiRuntime({ spawn: nodeWasiSpawn() }) }, events: journal,
  });
  afterAll(() => engine.shutdown());

  it('a run --rm, a volume and a network report Docker\'s events, replayed with since/until and followed', async () => {
    const t0 = Date.now();
    const live: string[] = [];
    const follow = await engine.watchEvents({ filters: { type: ['volume', 'network'] }, onEvent: (e) => live.push(`${e.Type} ${e.Action} ${e.Actor.ID}`) });
    await engine.createVolume({ name: 'ev-vol' });
    const r = await engine.runContainer({ image: 'skiff/hello-wasm', run: { rm: true, name: 'ev-run', mounts: [], labels: { team: 'a' } } as never });
    expect(r.exit.exitCode).toBe(0);
    const n = await engine.createNetwork({ name: 'ev-net' });
    await engine.removeNetwork({ id: 'ev-net' });
    await engine.removeVolume({ name: 'ev-vol' });
    follow.stop();
    await follow.done();
    expect(live).toEqual([`volume create ev-vol`, `network create ${n.id}`, `network destroy ${n.id}`, `volume destroy ev-vol`]);

    const past: EngineEvent[] = [];
    const w = await engine.watchEvents({ since: t0, until: Date.now(), filters: { container: ['ev-run'] }, onEvent: (e) => past.push(e) });
    await w.done();
    expect(past.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(past[2]!.Actor.Attributes).toMatchObject({ name: 'ev-run', image: 'skiff/hello-wasm', exitCode: '0', team: 'a' });
    expect(past[0]).toMatchObject({ Type: 'container', status: 'create', id: r.id, from: 'skiff/hello-wasm', scope: 'local' });
    expect(past[0]!.time).toBe(Math.floor(past[0]!.timeNano / 1e9));

    const labelled: string[] = [];
    await (await engine.watchEvents({ since: t0, until: Date.now(), filters: { label: ['team=a'], event: ['die'] }, onEvent: (e) => labelled.push(e.Action) })).done();
    expect(labelled).toEqual(['die']);
  }, 60_000);

  it('refuses unknown filters and a since after until (INVALID_ARGUMENT)', async () => {
    const bad = await engine.watchEvents({ filters: { colour: ['red'] }, onEvent: () => {} }).catch((e: unknown) => e);
    expect(isSkiffError(bad) && bad.code).toBe('INVALID_ARGUMENT');
    await expect(engine.watchEvents({ since: 2000, until: 1000, onEvent: () => {} })).rejects.toThrow(/cannot be after `until`/);
  });
});
