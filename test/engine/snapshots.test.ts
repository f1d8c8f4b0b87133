/**
 * One conformance suite for every SnapshotStore (memory, node-fs, IndexedDB through
 * fake-indexeddb): the record contract, then whole writable layers saved incrementally and
 * reopened exactly (hard links, whiteouts, opaque directories, xattrs, devices, a sparse 5 GiB
 * file, a path deeper than 4096 bytes).
 */
import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer, type LayerTree } from '../../src/fs/layer.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import { IdbSnapshotStore } from '../../src/engine/snapshots/idb.ts';
import { LiveLayer } from '../../src/engine/snapshots/live.ts';
import { MemorySnapshotStore } from '../../src/engine/snapshots/memory.ts';
import { NodeFsSnapshotStore } from '../../src/engine/snapshots/node-fs.ts';
import type { RecordOp, SnapshotStore } from '../../src/engine/snapshots/store.ts';
import type { TarEntry } from '../../src/archive/types.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'skiff-snap-'));
  dirs.push(d);
  return d;
}

let idbCount = 0;
export const snapshotBackends: Array<[string, () => Promise<SnapshotStore>]> = [
  ['memory', async () => new MemorySnapshotStore()],
  ['node-fs', async () => new NodeFsSnapshotStore({ root: await tempDir(), frameBytes: 100_000 })],
  ['idb', async () => new IdbSnapshotStore({ dbName: `snap-test-${++idbCount}` })],
];

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
const attr = { mode: 0o644, uid: 1, gid: 2 };

function walk(fs: FileSystem, path: string): FsNode {
  let n = fs.root();
  for (const p of path.split('/').filter(Boolean)) n = fs.lookup(n, p);
  return n;
}

/** Everything a reader can see of a tree, as one comparable value. */
function snapshotOf(fs: FileSystem): unknown[] {
  const out: unknown[] = [];
  const inodes = new Map<number, number>();
  const stack: Array<[FsNode, string]> = [[fs.root(), '']];
  while (stack.length) {
    const [n, path] = stack.pop()!;
    const st = fs.stat(n);
    const id = inodes.get(st.ino) ?? inodes.size;
    inodes.set(st.ino, id);
    const xattrs = fs.listxattr(n).sort().map((k) => [k, td.decode(fs.getxattr(n, k))]);
    const data = st.kind === 'file' && st.size < 1 << 20 ? [...fs.read(n, 0, st.size)].join(',') : st.kind === 'symlink' ? fs.readlink(n) : '';
    out.push({ path: path.length > 80 ? `${path.slice(0, 40)}..${path.length}` : path, kind: st.kind, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, mtime: st.mtimeMs, rdev: [st.rdevMajor, st.rdevMinor], xattrs, data, link: id });
    if (st.kind === 'directory') for (const e of fs.readdir(n).sort((a, b) => (a.name < b.name ? -1 : 1))) stack.push([fs.lookup(n, e.name), `${path}/${e.name}`]);
  }
  return out;
}

function lowerTree(): LayerTree {
  const f = (name: string, content = '', type: TarEntry['header']['type'] = 'file'): TarEntry => ({
    header: { name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: content.length, mtime: 1000, linkname: '', devmajor: 0, devminor: 0 },
    data: te.encode(content),
  });
  return applyLayer(null, [f('etc/', '', 'directory'), f('etc/passwd', 'root:x:0:0\n'), f('etc/motd', 'hi\n'), f('opt/', '', 'directory'), f('opt/a', 'a'), f('opt/b', 'b')]);
}

describe.each(snapshotBackends)('SnapshotStore conformance: %s', (_name, make) => {
  it('commits batches atomically, reads them back and reopens with them', async () => {
    const s = await make();
    const w = await s.open('container/c1');
    expect(w.records.size).toBe(0);
    await w.commit([{ key: 'a', value: te.encode('1') }, { key: 'b', value: te.encode('2') }]);
    await w.commit([{ key: 'a', value: null }, { key: 'c', value: bytes(70_000) }, { key: 'b', value: te.encode('3') }]);
    await w.commit([]);
    const got = await s.read('container/c1');
    expect([...got.keys()].sort()).toEqual(['b', 'c']);
    expect(td.decode(got.get('b'))).toBe('3');
    expect(got.get('c')).toEqual(bytes(70_000));
    expect(w.bytes).toBe([...got].reduce((n, [k, v]) => n + k.length + v.byteLength, 0));
    await w.close();
    const again = await s.open('container/c1');
    expect([...again.records.keys()].sort()).toEqual(['b', 'c']);
    expect(again.bytes).toBe(1 + 1 + 1 + 70_000);
    await again.close();
    expect(await s.list()).toContain('container/c1');
    expect(await s.usage('container/c1')).toBeGreaterThan(70_000);
  });

  it('has one writer per snapshot: a second open is refused until the first closes', async () => {
    const s = await make();
    const w = await s.open('volume/data');
    await expect(s.open('volume/data')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('volume data') });
    await expect(s.remove('volume/data')).rejects.toMatchObject({ code: 'CONFLICT' });
    const other = await s.open('volume/other');
    await other.close();
    await w.close();
    const w2 = await s.open('volume/data');
    await w2.close();
  });

  it('takes a large batch produced lazily, and removes snapshots', async () => {
    const s = await make();
    const w = await s.open('volume/big');
    function* ops(): Generator<RecordOp> {
      for (let i = 0; i < 200; i++) yield { key: `c${i}`, value: bytes(65_536, i) };
    }
    await w.commit(ops());
    await w.close();
    const got = await s.read('volume/big');
    expect(got.size).toBe(200);
    expect(got.get('c199')).toEqual(bytes(65_536, 199));
    await s.remove('volume/big');
    expect(await s.list()).not.toContain('volume/big');
    expect((await s.read('volume/big')).size).toBe(0);
  });

  it('saves a writable layer incrementally and reopens it exactly', async () => {
    const s = await make();
    const lower = lowerTree();
    const opts = { lower, now: () => 5000, flushMs: 10_000 };
    const live = await LiveLayer.open(s, 'container/x', opts);
    const fs = live.fs;
    const etc = walk(fs, 'etc');
    const f = fs.create(etc, 'new.txt', attr);
    fs.write(f, 0, te.encode('hello'));
    fs.link(etc, 'hard', f);
    fs.unlink(etc, 'passwd');
    fs.setxattr(f, 'user.k', te.encode('v'));
    fs.symlink(fs.root(), 'sl', '/etc/motd', { uid: 0, gid: 0 });
    fs.mknod(fs.root(), 'null', 'chardev', 1, 3, { mode: 0o666, uid: 0, gid: 0 });
    fs.unlink(walk(fs, 'opt'), 'a');
    fs.unlink(walk(fs, 'opt'), 'b');
    fs.unlink(fs.root(), 'opt', { directory: true });
    fs.mkdir(fs.root(), 'opt', { mode: 0o700, uid: 0, gid: 0 }); // opaque over the lower opt/
    const d = fs.mkdir(fs.root(), 'd', { mode: 0o755, uid: 0, gid: 0 });
    fs.mkdir(d, 'sub', { mode: 0o755, uid: 0, gid: 0 });
    fs.rename(fs.root(), 'd', walk(fs, 'opt'), 'moved');
    // A 5 GiB sparse file: one data chunk at each end.
    const sparse = fs.create(fs.root(), 'sparse', attr);
    fs.write(sparse, 0, te.encode('start'));
    fs.write(sparse, 5 * 2 ** 30 - 3, te.encode('end'));
    // A path deeper than PATH_MAX (4096 bytes), as *at calls can make.
    let deep = fs.root();
    for (let i = 0; i < 40; i++) deep = fs.mkdir(deep, 'x'.repeat(200), { mode: 0o755, uid: 0, gid: 0 });
    fs.write(fs.create(deep, 'leaf', attr), 0, te.encode('deep'));
    const big = fs.create(fs.root(), 'big', attr);
    fs.write(big, 0, bytes(3 << 20));
    await live.flush();
    // Shrink then regrow: the cut bytes must read back as zeros after a reopen.
    fs.setattr(big, { size: 100 });
    fs.setattr(big, { size: 200_000 });
    fs.write(big, 150_000, te.encode('tail'));
    await live.flush();
    const expected = snapshotOf(fs);
    await live.close();

    const back = await LiveLayer.open(s, 'container/x', opts);
    expect(snapshotOf(back.fs)).toEqual(expected);
    const sp = walk(back.fs, 'sparse');
    expect(back.fs.stat(sp).size).toBe(5 * 2 ** 30);
    expect(td.decode(back.fs.read(sp, 5 * 2 ** 30 - 3, 3))).toBe('end');
    expect(back.fs.read(walk(back.fs, 'big'), 100, 1000)).toEqual(new Uint8Array(1000));
    expect(back.fs.stat(walk(back.fs, 'etc/hard')).nlink).toBe(2);
    await back.close();
    const view = await LiveLayer.view(s, 'container/x', opts);
    expect(snapshotOf(view)).toEqual(expected);
    expect(view.readOnly).toBe(true);
  });

  it('a small change to a big layer is a small batch', async () => {
    const s = await make();
    const sizes: number[] = [];
    const spy: SnapshotStore = Object.assign(Object.create(Object.getPrototypeOf(s)) as SnapshotStore, s, {
      open: async (key: string) => {
        const w = await s.open(key);
        return { ...w, key: w.key, records: w.records, close: () => w.close(), commit: (ops: Iterable<RecordOp>) => {
          const list = [...ops];
          sizes.push(list.reduce((n, o) => n + o.key.length + (o.value?.length ?? 0), 0));
          return w.commit(list);
        } };
      },
    });
    const live = await LiveLayer.open(spy, 'container/big', { lower: null, now: () => 1, flushMs: 10_000 });
    const fs = live.fs;
    for (let i = 0; i < 20; i++) fs.write(fs.create(fs.root(), `f${i}`, attr), 0, bytes(1 << 20, i));
    await live.flush();
    fs.write(walk(fs, 'f7'), 123_456, te.encode('x'));
    fs.rename(fs.root(), 'f3', fs.root(), 'g3');
    await live.flush();
    await live.close();
    expect(sizes[0]).toBeGreaterThan(20 << 20);
    expect(sizes[1]).toBeLessThan(70_000);
    const back = await LiveLayer.open(s, 'container/big', { lower: null, now: () => 1 });
    expect(td.decode(back.fs.read(walk(back.fs, 'f7'), 123_456, 1))).toBe('x');
    expect(back.fs.read(walk(back.fs, 'g3'), 0, 10)).toEqual(bytes(1 << 20, 3).subarray(0, 10));
    await back.close();
  });

  it('frees the records of what was deleted', async () => {
    const s = await make();
    const live = await LiveLayer.open(s, 'volume/v', { lower: null, now: () => 1, flushMs: 10_000 });
    const fs = live.fs;
    const d = fs.mkdir(fs.root(), 'd', { mode: 0o755, uid: 0, gid: 0 });
    fs.write(fs.create(d, 'f', attr), 0, bytes(500_000));
    await live.flush();
    const full = await s.read('volume/v');
    fs.unlink(d, 'f');
    fs.unlink(fs.root(), 'd', { directory: true });
    await live.flush();
    await live.close();
    const after = await s.read('volume/v');
    expect(full.size).toBeGreaterThan(8);
    expect([...after.keys()]).toEqual(['i0']);
  });
});

describe('NodeFsSnapshotStore journal', () => {
  it('drops a torn tail and a batch whose last frame never landed, keeping every batch before', async () => {
    const { appendFile, readdir: ls, stat: st, readFile } = await import('node:fs/promises');
    const root = await tempDir();
    const s = new NodeFsSnapshotStore({ root, frameBytes: 1000 });
    const w = await s.open('volume/v');
    await w.commit([{ key: 'kept', value: te.encode('yes') }]);
    const dir = join(root, 'volume%2Fv');
    const journal = join(dir, (await ls(dir)).find((n) => n.startsWith('journal.'))!);
    const good = (await st(journal)).size;
    // A batch of three frames whose final frame is lost: copy its first frames by writing it and cutting the end.
    await w.commit([{ key: 'lost1', value: bytes(1500) }, { key: 'lost2', value: bytes(1500) }, { key: 'lost3', value: bytes(10) }]);
    const whole = await readFile(journal);
    await w.close();
    const { truncate } = await import('node:fs/promises');
    await truncate(journal, whole.length - 30);
    await appendFile(journal, new Uint8Array([1, 2, 3]));
    const back = await s.open('volume/v');
    expect([...back.records.keys()]).toEqual(['kept']);
    expect((await st(journal)).size).toBe(good);
    await back.commit([{ key: 'after', value: te.encode('1') }]);
    await back.close();
    expect([...(await s.read('volume/v')).keys()].sort()).toEqual(['after', 'kept']);
  });

  it('compacts a journal of mostly overwritten records, keeping the live ones', async () => {
    const { readdir: ls, stat: st } = await import('node:fs/promises');
    const root = await tempDir();
    const s = new NodeFsSnapshotStore({ root });
    const w = await s.open('container/c');
    for (let i = 0; i < 300; i++) await w.commit([{ key: 'hot', value: bytes(65_536, i) }, { key: `k${i % 3}`, value: te.encode(String(i)) }]);
    const dir = join(root, 'container%2Fc');
    const names = (await ls(dir)).filter((n) => n.startsWith('journal.'));
    expect(names.length).toBe(1);
    expect(names[0]).not.toBe('journal.0');
    expect((await st(join(dir, names[0]!))).size).toBeLessThan(17 << 20);
    await w.close();
    const got = await s.read('container/c');
    expect(got.get('hot')).toEqual(bytes(65_536, 299));
    expect(td.decode(got.get('k2'))).toBe('299');
  });

  it('a compaction killed before or after its rename leaves one journal, the newest complete one', async () => {
    const { readdir: ls, copyFile, writeFile: wf } = await import('node:fs/promises');
    const root = await tempDir();
    const s = new NodeFsSnapshotStore({ root });
    const w = await s.open('volume/c');
    await w.commit([{ key: 'k', value: te.encode('v1') }]);
    await w.close();
    const dir = join(root, 'volume%2Fc');
    // Killed after the rename (journal.1 complete, journal.0 not yet deleted), and a temp file of one killed before.
    await copyFile(join(dir, 'journal.0'), join(dir, 'journal.1'));
    await wf(join(dir, '.tmp-journal.2'), new Uint8Array(100));
    const again = await s.open('volume/c');
    expect(td.decode(again.records.get('k'))).toBe('v1');
    await again.commit([{ key: 'k', value: te.encode('v2') }]);
    await again.close();
    expect((await ls(dir)).filter((n) => n !== 'owner')).toEqual(['journal.1']);
    expect(td.decode((await s.read('volume/c')).get('k'))).toBe('v2');
  });

  it('refuses a second process as writer, naming it, and takes over from a killed one', async () => {
    const { spawn } = await import('node:child_process');
    const root = await tempDir();
    const script = `
      import { NodeFsSnapshotStore } from './src/engine/snapshots/node-fs.ts';
      const w = await new NodeFsSnapshotStore({ root: ${JSON.stringify(root)} }).open('volume/shared');
      await w.commit([{ key: 'from-child', value: new Uint8Array([1]) }]);
      console.log('ready');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); }));
    const s = new NodeFsSnapshotStore({ root });
    await expect(s.open('volume/shared')).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`pid ${child.pid}`) });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const w = await s.open('volume/shared');
    expect([...w.records.keys()]).toEqual(['from-child']);
    await w.close();
  }, 30_000);
});

describe('UpperTracker against random changes', () => {
  it('reopens equal to the live tree after any sequence of changes and saves', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      let x = seed * 7919;
      const rnd = (n: number): number => {
        x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
        return (x >>> 8) % n;
      };
      const s = new MemorySnapshotStore();
      const live = await LiveLayer.open(s, 'container/r', { lower: lowerTree(), now: () => 7, flushMs: 1e9 });
      const fs = live.fs;
      const names = ['a', 'b', 'c', 'd'];
      const dirs = (): FsNode[] => {
        const out: FsNode[] = [];
        const stack = [fs.root()];
        while (stack.length) {
          const d = stack.pop()!;
          out.push(d);
          for (const e of fs.readdir(d)) if (e.kind === 'directory') stack.push(fs.lookup(d, e.name));
        }
        return out;
      };
      for (let step = 0; step < 300; step++) {
        const all = dirs();
        const d = all[rnd(all.length)]!;
        const name = names[rnd(names.length)]!;
        const child = (() => { try { return fs.lookup(d, name); } catch { return null; } })();
        try {
          switch (rnd(10)) {
            case 0: fs.write(fs.create(d, name, attr), 0, bytes(rnd(200_000), step)); break;
            case 1: fs.mkdir(d, name, { mode: 0o755, uid: 0, gid: 0 }); break;
            case 2: if (child) fs.unlink(d, name, { directory: fs.stat(child).kind === 'directory' }); break;
            case 3: { const to = all[rnd(all.length)]!; fs.rename(d, name, to, names[rnd(names.length)]!); break; }
            case 4: if (child && fs.stat(child).kind === 'file') fs.write(child, rnd(300_000), bytes(rnd(70_000) + 1, step)); break;
            case 5:
              if (child && fs.stat(child).kind === 'file') {
                fs.setattr(child, { size: rnd(150_000) });
                if (rnd(2)) fs.setattr(child, { size: rnd(300_000) }); // cut bytes must not come back
              }
              break;
            case 6: if (child && fs.stat(child).kind === 'file') fs.link(all[rnd(all.length)]!, names[rnd(names.length)]!, child); break;
            case 7: if (child) fs.setxattr(child, 'user.x', bytes(rnd(10), step)); break;
            case 8: fs.symlink(d, name, `/t${step}`, { uid: 0, gid: 0 }); break;
            default: {
              await live.flush();
              // A stored file cut and grown again before the next save: the cut bytes must stay gone.
              const files = all.flatMap((dd) => fs.readdir(dd).filter((e) => e.kind === 'file').map((e) => fs.lookup(dd, e.name)));
              const f = files[rnd(files.length + 1)];
              if (f && fs.stat(f).size > 70_000) {
                fs.setattr(f, { size: rnd(60_000) });
                fs.setattr(f, { size: 70_000 + rnd(200_000) });
              }
            }
          }
        } catch (err) {
          if (!(err instanceof Error) || !('code' in err)) throw err; // errno refusals are part of the game
        }
      }
      const expected = snapshotOf(fs);
      await live.close();
      const back = await LiveLayer.open(s, 'container/r', { lower: lowerTree(), now: () => 7 });
      expect(snapshotOf(back.fs), `seed ${seed}`).toEqual(expected);
      // Nothing unreachable is kept: every inode record is named by an entry (or is the root).
      const recs = await s.read('container/r');
      const named = new Set([...recs].filter(([k]) => k.startsWith('d')).map(([, v]) => td.decode(v)));
      for (const k of recs.keys()) if (k.startsWith('i') && k !== 'i0') expect(named.has(k.slice(1)), `seed ${seed}: ${k}`).toBe(true);
      await back.close();
    }
  }, 120_000);
});
