import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { IdbStateStore } from '../../src/engine/state/idb.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { NodeFsStateStore } from '../../src/engine/state/node-fs.ts';
import type { StateStore } from '../../src/engine/state/store.ts';

const run = promisify(execFile);
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'skiff-state-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

let idbCount = 0;
const backends: Array<[string, () => Promise<StateStore>]> = [
  ['memory', async () => new MemoryStateStore()],
  ['node-fs', async () => new NodeFsStateStore({ root: await tempDir() })],
  ['idb', async () => new IdbStateStore({ dbName: `state-test-${++idbCount}` })],
];

describe.each(backends)('StateStore conformance: %s', (_name, make) => {
  it('reads back what a transaction wrote, as a copy', async () => {
    const s = await make();
    const doc = { name: 'a', list: [1, 2], nested: { x: 'y' } };
    await s.transaction((tx) => tx.put('images', 'sha256:abc', doc));
    doc.list.push(3);
    expect(await s.get('images', 'sha256:abc')).toEqual({ name: 'a', list: [1, 2], nested: { x: 'y' } });
    expect(await s.get('images', 'sha256:missing')).toBeUndefined();
  });

  it('keeps collections apart and lists keys in order, with awkward characters', async () => {
    const s = await make();
    const keys = ['docker.io/library/busybox:latest', 'a/b:c@sha256:00', '..', 'x y%z'];
    await s.transaction(async (tx) => {
      for (const k of keys) await tx.put('tags', k, { k });
      await tx.put('containers', 'c1', { id: 'c1' });
    });
    expect(await s.keys('tags')).toEqual([...keys].sort());
    expect(await s.keys('containers')).toEqual(['c1']);
    expect(await s.keys('volumes')).toEqual([]);
    expect((await s.list<{ k: string }>('tags')).map((d) => d.k)).toEqual([...keys].sort());
  });

  it('deletes, and deleting a missing key is not an error', async () => {
    const s = await make();
    await s.transaction((tx) => tx.put('volumes', 'v', { n: 1 }));
    await s.transaction(async (tx) => {
      await tx.delete('volumes', 'v');
      await tx.delete('volumes', 'never');
    });
    expect(await s.get('volumes', 'v')).toBeUndefined();
    expect(await s.keys('volumes')).toEqual([]);
  });

  it('serializes read-modify-write transactions in one process', async () => {
    const s = await make();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.transaction(async (tx) => {
          const cur = (await tx.get<{ n: number[] }>('meta', 'counter')) ?? { n: [] };
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          await tx.put('meta', 'counter', { n: [...cur.n, i] });
        }),
      ),
    );
    const got = await s.get<{ n: number[] }>('meta', 'counter');
    expect(got!.n.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('releases the lock when a transaction throws', async () => {
    const s = await make();
    await expect(s.transaction(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await s.transaction((tx) => tx.put('meta', 'after', { ok: true }));
    expect(await s.get('meta', 'after')).toEqual({ ok: true });
  });
});

describe('NodeFsStateStore across processes', () => {
  it('two processes updating the same index at once lose no update and leave no temp files', async () => {
    const root = await tempDir();
    const script = join(import.meta.dirname, 'fixtures', 'state-writer.ts');
    const per = 40;
    await Promise.all(
      ['p1', 'p2'].map((tag) =>
        run(process.execPath, ['--import', 'tsx', script, root, tag, String(per)], { cwd: join(import.meta.dirname, '../..') }),
      ),
    );
    const s = new NodeFsStateStore({ root });
    const index = await s.get<Record<string, number>>('tags', 'index');
    expect(Object.keys(index!).length).toBe(2 * per);
    for (const tag of ['p1', 'p2']) for (let i = 0; i < per; i++) expect(index![`${tag}-${i}`]).toBe(i);
    expect((await readdir(join(root, 'tags'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect((await readdir(join(root, 'locks'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('breaks a lock left by a dead process', async () => {
    const root = await tempDir();
    await plantLock(root, '999999999 -');
    const s = new NodeFsStateStore({ root, timeoutMs: 2000 });
    await s.transaction((tx) => tx.put('meta', 'k', { v: 1 }));
    expect(await s.get('meta', 'k')).toEqual({ v: 1 });
  });

  it('does not wait for a lock whose pid now belongs to another process (start time differs)', async () => {
    const root = await tempDir();
    await plantLock(root, `${process.pid} 1`);
    const s = new NodeFsStateStore({ root, timeoutMs: 1000 });
    const t0 = Date.now();
    await s.transaction((tx) => tx.put('meta', 'k', { v: 2 }));
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('waits for a live holder and times out with a CONFLICT naming the lock', async () => {
    const root = await tempDir();
    const holder = new NodeFsStateStore({ root });
    let release!: () => void;
    const held = holder.transaction(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const s = new NodeFsStateStore({ root, timeoutMs: 200 });
    await expect(s.transaction(async () => 1)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('lock') });
    release();
    await held;
    expect(await s.transaction(async () => 2)).toBe(2);
  });

  it('ten processes racing past a dead holder\'s lock lose no update, round after round', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'state-writer.ts');
    const tags = Array.from({ length: 10 }, (_, i) => `w${i}`);
    const per = 8;
    for (let round = 0; round < 3; round++) {
      const root = await tempDir();
      await plantLock(root, '999999999 -');
      // All start together (after their ~1 s of tsx start-up), so all find the dead lock at once.
      const startAt = String(Date.now() + 4000);
      await Promise.all(tags.map((tag) => run(process.execPath, ['--import', 'tsx', script, root, tag, String(per), startAt], { cwd: join(import.meta.dirname, '../..') })));
      const index = await new NodeFsStateStore({ root }).get<Record<string, number>>('tags', 'index');
      expect(Object.keys(index!).length, `round ${round}`).toBe(tags.length * per);
    }
  }, 180_000);

  it('a transaction killed half-way through landing is finished by the next holder', async () => {
    const root = await tempDir();
    const s = new NodeFsStateStore({ root });
    await s.transaction(async (tx) => { await tx.put('images', 'a', { v: 1 }); await tx.put('tags', 't', { to: 'a' }); });
    // What a kill between the intent and the renames leaves: the intent and both temp files.
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(root, 'locks'), { recursive: true });
    const ops = [
      { file: join(root, 'images', 'b.json'), tmp: join(root, 'images', '.tmp-1-1'), text: null },
      { file: join(root, 'tags', 't.json'), tmp: join(root, 'tags', '.tmp-1-2'), text: null },
      { file: join(root, 'images', 'a.json'), tmp: null, text: null },
    ];
    await writeFile(ops[0]!.tmp!, JSON.stringify({ v: 2 }));
    await writeFile(ops[1]!.tmp!, JSON.stringify({ to: 'b' }));
    await writeFile(join(root, 'images', '.tmp-99-9'), 'stray');
    await writeFile(join(root, 'locks', 'intent.json'), JSON.stringify(ops));
    await s.transaction(async () => {});
    expect(await s.get('images', 'b')).toEqual({ v: 2 });
    expect(await s.get('tags', 't')).toEqual({ to: 'b' });
    expect(await s.get('images', 'a')).toBeUndefined();
    expect((await readdir(join(root, 'images'))).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(await readdir(join(root, 'locks'))).not.toContain('intent.json');
  });

  it('a transaction sees its own writes and deletes before they land', async () => {
    const s = new NodeFsStateStore({ root: await tempDir() });
    await s.transaction((tx) => tx.put('volumes', 'old', { n: 0 }));
    await s.transaction(async (tx) => {
      await tx.put('volumes', 'new', { n: 1 });
      await tx.delete('volumes', 'old');
      expect(await tx.get('volumes', 'new')).toEqual({ n: 1 });
      expect(await tx.keys('volumes')).toEqual(['new']);
      expect(await tx.list('volumes')).toEqual([{ n: 1 }]);
    });
    expect(await s.keys('volumes')).toEqual(['new']);
  });
});

/** A lock as a killed (or pid-reused) holder leaves it, in the old single-file form and the current one. */
async function plantLock(root: string, owner: string): Promise<void> {
  const { writeFile, mkdir } = await import('node:fs/promises');
  await mkdir(join(root, 'locks'), { recursive: true });
  await writeFile(join(root, 'lock'), `${owner.split(' ')[0]} 0 dead`);
  await writeFile(join(root, 'locks', 'lock.1'), owner);
}

describe('NodeFsStateStore storage errors', () => {
  it('a store it cannot write fails with STORAGE naming the place', async () => {
    const { writeFile } = await import('node:fs/promises');
    const root = await tempDir();
    const blocker = join(root, 'not-a-dir');
    await writeFile(blocker, 'x');
    const s = new NodeFsStateStore({ root: join(blocker, 'state') });
    await expect(s.transaction((tx) => tx.put('images', 'k', {}))).rejects.toMatchObject({ code: 'STORAGE', message: expect.stringContaining('not-a-dir') });
  });
});
