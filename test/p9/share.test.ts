/**
 * Image files shared between containers (src/p9/share.ts): an untouched layer file of a cacheable
 * export answers with one qid in every export, in getattr, walk, lopen and readdir alike; a fid
 * opened while it was shared keeps reading the image file whatever the container does to it
 * since; opening for writing copies it up first; the ids survive saveState/restoreState.
 */
import { describe, expect, it } from 'vitest';
import type { TarEntry } from '../../src/archive/types.ts';
import { ChunkCache } from '../../src/fs/chunk-cache.ts';
import { FileContent } from '../../src/fs/file-content.ts';
import { applyLayer, type LayerEntry, type LayerTree } from '../../src/fs/layer.ts';
import { ChunkHasher, LayerData } from '../../src/fs/layer-data.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { GetattrMask, OpenFlags, QID_CACHEABLE, QidType, SetattrMask, type Qid } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { MAX_SHARED_ID, QID_SHARED, SharedFiles } from '../../src/p9/share.ts';
import { dir, file, text } from '../fs/helpers.ts';
import { Rlerror, TestClient } from './client.ts';
import { decodeDirents } from '../../src/p9/codec.ts';

const enc = new TextEncoder();
const FILES: [string, string][] = [['usr/lib/a', 'the bytes of a\n'], ['usr/lib/b', 'b here\n'], ['usr/lib/c', 'cee\n']];

/** A layer copy holding FILES' bytes back to back, read synchronously (as on Node). */
function layerCopy(id = 'sha256:copy1'): { data: LayerData; offsets: number[] } {
  const parts = FILES.map(([, t]) => enc.encode(t));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) { offsets.push(at); all.set(p, at); at += p.length; }
  const h = new ChunkHasher();
  h.update(all);
  const data = new LayerData(id, all.length, h.finish(), {
    read: async (o, n) => all.slice(o, o + n), readSync: (o, n) => all.slice(o, o + n),
  }, new ChunkCache());
  return { data, offsets };
}

function layerFile(name: string, content: FileContent, mode = 0o644): LayerEntry {
  return { header: { name, type: 'file', mode, uid: 0, gid: 0, size: content.size, mtime: 1_000, linkname: '', devmajor: 0, devminor: 0 }, data: new Uint8Array(0), content };
}

/** The image: FILES as ranges of one layer copy, plus a hard link to c (two names: never shared). */
function image(copy = layerCopy()): LayerTree {
  const entries: TarEntry[] = [dir('usr'), dir('usr/lib')];
  FILES.forEach(([name, t], i) => entries.push(layerFile(name, FileContent.fromLayer(copy.data, copy.offsets[i]!, enc.encode(t).length))));
  entries.push({ header: { name: 'usr/lib/c-link', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_000, linkname: 'usr/lib/c', devmajor: 0, devminor: 0 }, data: new Uint8Array(0) });
  return applyLayer(null, entries);
}

interface Setup { c: TestClient; s: P9Server; c1: Overlay; c2: Overlay }

function setup(share = true, lower = image()): Setup {
  const s = new P9Server({ shareImageFiles: share, now: () => 5_000 });
  const c1 = new Overlay({ lower, now: () => 5_000 });
  const c2 = new Overlay({ lower: image(), now: () => 5_000 });
  s.addExport('c1', c1, { cacheable: true });
  s.addExport('c2', c2, { cacheable: true });
  s.addExport('vol', new Overlay({ lower: image() }));
  const c = new TestClient(s);
  c.version();
  c.attach(1, 'c1');
  c.attach(2, 'c2');
  c.attach(3, 'vol');
  return { c, s, c1, c2 };
}

const qidOf = (c: TestClient, fid: number): Qid => c.call({ type: 'Tgetattr', fid, requestMask: GetattrMask.BASIC }).qid;
const isShared = (q: Qid) => (q.type & QID_SHARED) !== 0;
const SHARED_TYPE = QidType.FILE | QID_CACHEABLE | QID_SHARED;

function open(c: TestClient, from: number, fid: number, path: string, flags: number): Qid {
  c.walk(from, fid, path);
  return c.call({ type: 'Tlopen', fid, flags }).qid;
}
const readText = (c: TestClient, fid: number) => text(c.readAll(fid));

describe('shared image files', () => {
  it('answer with one small qid in every container export: getattr, walk, lopen and readdir', () => {
    const { c } = setup();
    c.walk(1, 10, 'usr/lib/a');
    c.walk(2, 20, 'usr/lib/a');
    const q = qidOf(c, 10);
    expect(q).toEqual({ type: SHARED_TYPE, version: 0, path: q.path });
    expect(q.path).toBeGreaterThan(0);
    expect(q.path).toBeLessThanOrEqual(MAX_SHARED_ID);
    expect(qidOf(c, 20)).toEqual(q);
    expect(c.walk(2, 21, 'usr/lib/a').wqids.at(-1)).toEqual(q);
    expect(c.call({ type: 'Tlopen', fid: 20, flags: OpenFlags.RDONLY }).qid).toEqual(q);
    c.walk(2, 22, 'usr/lib');
    c.call({ type: 'Tlopen', fid: 22, flags: OpenFlags.RDONLY | OpenFlags.DIRECTORY });
    const entries = c.readdirAll(22).entries;
    expect(entries.find((e) => e.name === 'a')!.qid).toEqual(q);
    // Another file of the layer: another id; directories and the hard-linked file keep their export's qids.
    c.walk(1, 11, 'usr/lib/b');
    expect(qidOf(c, 11).path).not.toBe(q.path);
    expect(isShared(qidOf(c, 11))).toBe(true);
    c.walk(1, 12, 'usr/lib/c');
    expect(isShared(qidOf(c, 12))).toBe(false);
    expect(isShared(entries.find((e) => e.name === 'c')!.qid)).toBe(false);
    c.walk(1, 13, 'usr');
    expect(isShared(qidOf(c, 13))).toBe(false);
    // Export qids have bit 31 set: the two namespaces never meet (nor do a 32-bit guest's folded inode numbers).
    expect(qidOf(c, 12).path % 2 ** 32).toBeGreaterThanOrEqual(2 ** 31);
  });

  it('never in an export that is not cacheable, nor with sharing off', () => {
    const { c } = setup();
    c.walk(3, 30, 'usr/lib/a');
    expect(isShared(qidOf(c, 30))).toBe(false);
    const off = setup(false);
    off.c.walk(1, 10, 'usr/lib/a');
    expect(qidOf(off.c, 10).type).toBe(QidType.FILE | QID_CACHEABLE);
    expect(off.s.sharedFileCount).toBe(0);
  });

  it('a file with other attributes or in another layer copy is another file', () => {
    const s = new P9Server({ shareImageFiles: true });
    const copy = layerCopy();
    const other = applyLayer(null, [dir('usr'), dir('usr/lib'), layerFile('usr/lib/a', FileContent.fromLayer(copy.data, copy.offsets[0]!, FILES[0]![1].length), 0o600)]);
    s.addExport('c1', new Overlay({ lower: image(copy) }), { cacheable: true });
    s.addExport('c2', new Overlay({ lower: other }), { cacheable: true });
    s.addExport('c3', new Overlay({ lower: image(layerCopy('sha256:copy2')) }), { cacheable: true });
    const c = new TestClient(s);
    c.version();
    const ids = ['c1', 'c2', 'c3'].map((name, i) => {
      c.attach(i + 1, name);
      c.walk(i + 1, 10 + i, 'usr/lib/a');
      return qidOf(c, 10 + i).path;
    });
    expect(new Set(ids).size).toBe(3);
  });

  it('a fid opened while shared reads the image file for life; a write open copies up first', () => {
    const { c, c1, c2 } = setup();
    c.walk(1, 10, 'usr/lib/a');
    const shared = qidOf(c, 10);
    // c2 keeps a reader (a guest mapping faults through it), then writes through a new fid.
    expect(open(c, 2, 20, 'usr/lib/a', OpenFlags.RDONLY)).toEqual(shared);
    const w = open(c, 2, 21, 'usr/lib/a', OpenFlags.WRONLY | OpenFlags.TRUNC);
    expect(isShared(w)).toBe(false);
    c.call({ type: 'Twrite', fid: 21, offset: 0, data: enc.encode('POISON') });
    expect(readText(c, 20)).toBe('the bytes of a\n');
    expect(isShared(open(c, 2, 22, 'usr/lib/a', OpenFlags.RDONLY))).toBe(false);
    expect(readText(c, 22)).toBe('POISON');
    c.walk(2, 23, 'usr/lib/a');
    expect(qidOf(c, 23).path).toBe(w.path);
    // c1 never saw any of it.
    expect(qidOf(c, 10)).toEqual(shared);
    expect(open(c, 1, 11, 'usr/lib/a', OpenFlags.RDONLY)).toEqual(shared);
    expect(readText(c, 11)).toBe('the bytes of a\n');
    expect(text(c1.read(c1.lookup(c1.lookup(c1.lookup(c1.root(), 'usr'), 'lib'), 'a'), 0, 100))).toBe('the bytes of a\n');
    expect(c2.upperTree.root.children!.get('usr')!.children!.get('lib')!.children!.has('a')).toBe(true);
    // Unlinked meanwhile: the old reader still reads the image file.
    c.walk(2, 24, 'usr/lib');
    c.call({ type: 'Tunlinkat', dirfid: 24, name: 'a', flags: 0 });
    expect(readText(c, 20)).toBe('the bytes of a\n');
  });

  it('a read-write open of a shared file, O_TRUNC alone and Tlcreate of an existing one copy up too', () => {
    const { c } = setup();
    expect(isShared(open(c, 2, 20, 'usr/lib/a', OpenFlags.RDWR))).toBe(false);
    expect(isShared(open(c, 2, 21, 'usr/lib/b', OpenFlags.RDONLY | OpenFlags.TRUNC))).toBe(false);
    c.walk(2, 22, 'usr/lib/b');
    expect(c.call({ type: 'Tgetattr', fid: 22, requestMask: GetattrMask.BASIC }).size).toBe(0);
    c.walk(1, 10, 'usr/lib');
    const r = c.call({ type: 'Tlcreate', fid: 10, name: 'a', flags: OpenFlags.RDONLY | OpenFlags.CREAT, mode: 0o644, gid: 0 });
    expect(isShared(r.qid)).toBe(true);
    expect(readText(c, 10)).toBe('the bytes of a\n');
  });

  it('setattr, xattrs, link, rename and unlink give the container its own file; the others keep the shared one', () => {
    const setattr = (c: TestClient, fid: number, valid: number, mode = 0, size = 0) =>
      c.call({ type: 'Tsetattr', fid, valid, mode, uid: 0, gid: 0, size, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 });
    const ops: Record<string, (c: TestClient) => void> = {
      chmod: (c) => setattr(c, 20, SetattrMask.MODE, 0o600),
      truncate: (c) => setattr(c, 20, SetattrMask.SIZE, 0, 3),
      utimes: (c) => setattr(c, 20, SetattrMask.MTIME),
      setxattr: (c) => {
        c.walk(20, 28, '');
        c.call({ type: 'Txattrcreate', fid: 28, name: 'user.x', attrSize: 1, flags: 0 });
        c.call({ type: 'Twrite', fid: 28, offset: 0, data: enc.encode('1') });
        c.call({ type: 'Tclunk', fid: 28 });
      },
      link: (c) => { c.walk(2, 29, 'usr/lib'); c.call({ type: 'Tlink', dfid: 29, fid: 20, name: 'a2' }); },
      rename: (c) => { c.walk(2, 29, 'usr/lib'); c.call({ type: 'Trenameat', olddirfid: 29, oldname: 'a', newdirfid: 29, newname: 'a' + '-moved' }); c.call({ type: 'Trenameat', olddirfid: 29, oldname: 'a-moved', newdirfid: 29, newname: 'a' }); },
    };
    for (const [what, op] of Object.entries(ops)) {
      const { c } = setup();
      c.walk(1, 10, 'usr/lib/a');
      c.walk(2, 20, 'usr/lib/a');
      const shared = qidOf(c, 10);
      expect(qidOf(c, 20), what).toEqual(shared);
      op(c);
      c.walk(2, 21, 'usr/lib/a');
      expect(isShared(qidOf(c, 21)), what).toBe(false);
      expect(qidOf(c, 10), what).toEqual(shared);
      expect(open(c, 1, 11, 'usr/lib/a', OpenFlags.RDONLY), what).toEqual(shared);
      expect(readText(c, 11), what).toBe('the bytes of a\n');
    }
    // unlink: the name goes in c2 only.
    const { c } = setup();
    c.walk(2, 20, 'usr/lib');
    c.call({ type: 'Tunlinkat', dirfid: 20, name: 'b', flags: 0 });
    expect(() => c.walk(20, 22, 'b')).toThrow(Rlerror);
    c.walk(1, 11, 'usr/lib/b');
    expect(isShared(qidOf(c, 11))).toBe(true);
  });

  it('a directory listed in pages lists on while its files go (rm -r unlinks as it reads)', () => {
    const { c } = setup();
    c.walk(1, 10, 'usr/lib');
    c.call({ type: 'Tlopen', fid: 10, flags: OpenFlags.RDONLY | OpenFlags.DIRECTORY });
    c.walk(1, 11, 'usr/lib');
    // One entry a page: '.', then '..', 'a', 'b', 'c', 'c-link' with 'b' unlinked in between.
    const names: string[] = [];
    let offset = 0;
    for (;;) {
      const page = decodeDirents(c.call({ type: 'Treaddir', fid: 10, offset, count: 32 }).data);
      if (page.length === 0) break;
      names.push(page[0]!.name);
      offset = page[page.length - 1]!.offset;
      if (page[0]!.name === 'a') c.call({ type: 'Tunlinkat', dirfid: 11, name: 'b', flags: 0 });
    }
    expect(names).toEqual(['.', '..', 'a', 'b', 'c', 'c-link']);
  });

  it('keeps ids and open readers across saveState/restoreState, also in a new server; old states load', () => {
    const { c, s } = setup();
    c.walk(1, 10, 'usr/lib/a');
    c.walk(1, 11, 'usr/lib/b');
    const a = qidOf(c, 10).path;
    const b = qidOf(c, 11).path;
    expect(open(c, 2, 20, 'usr/lib/a', OpenFlags.RDONLY).path).toBe(a);
    const state = JSON.parse(JSON.stringify(s.saveState())) as ReturnType<P9Server['saveState']>;
    expect(state.shared).toEqual(expect.arrayContaining([[expect.any(String), a], [expect.any(String), b]]));
    expect(state.fids.find((f) => f.fid === 20)!.frozen).toEqual(expect.any(String));
    // A new process: new overlays of the same image, ids handed out in another order before the restore.
    const next = setup();
    next.c.walk(1, 10, 'usr/lib/c-link');
    next.c.walk(1, 11, 'usr/lib/b');
    expect(qidOf(next.c, 11).path).not.toBe(b);
    next.s.restoreState(state);
    next.c.walk(1, 30, 'usr/lib/a');
    next.c.walk(2, 31, 'usr/lib/b');
    expect(qidOf(next.c, 30).path).toBe(a);
    expect(qidOf(next.c, 31).path).toBe(b);
    expect(readText(next.c, 20)).toBe('the bytes of a\n');
    // A file first seen after the restore gets an id no restored file has.
    const third = layerCopy('sha256:copy3');
    next.s.addExport('c3', new Overlay({ lower: image(third) }), { cacheable: true });
    next.c.attach(4, 'c3');
    next.c.walk(4, 40, 'usr/lib/a');
    expect([a, b]).not.toContain(qidOf(next.c, 40).path);
    // A state from before sharing (no ids) loads, and keeps what this server handed out.
    const old = setup();
    old.c.walk(1, 10, 'usr/lib/a');
    const mine = qidOf(old.c, 10).path;
    const { shared: _drop, ...before } = state;
    old.s.restoreState({ ...before, fids: before.fids.map(({ frozen: _f, ...f }) => f) });
    old.c.walk(1, 50, 'usr/lib/a');
    expect(qidOf(old.c, 50).path).toBe(mine);
  });

  it('a restored reader whose container changed the file since has no image file to read: stale, never the new bytes', () => {
    const { c, s } = setup();
    expect(isShared(open(c, 2, 20, 'usr/lib/a', OpenFlags.RDONLY))).toBe(true);
    const state = s.saveState();
    // The new process: the container's saved upper holds its own copy of the file (no lower left).
    const next = new P9Server({ shareImageFiles: true });
    next.addExport('c1', new Overlay({ lower: image() }), { cacheable: true });
    next.addExport('c2', Overlay.fromUpper({ lower: image(), entries: [dir('usr'), dir('usr/lib'), file('usr/lib/a', 'NEW')] }), { cacheable: true });
    next.addExport('vol', new Overlay({ lower: image() }));
    next.restoreState(state);
    const nc = new TestClient(next);
    expect(() => nc.call({ type: 'Tread', fid: 20, offset: 0, count: 100 })).toThrow(Rlerror);
    // The same restore over an untouched container: the reader reads the image file.
    const same = setup();
    same.s.restoreState(state);
    expect(readText(same.c, 20)).toBe('the bytes of a\n');
  });

  it('SharedFiles refuses a corrupt saved map', () => {
    const f = new SharedFiles();
    expect(() => f.restore([['k', 0]])).toThrow();
    expect(() => f.restore([['k', 1], ['j', 1]])).toThrow();
    expect(() => f.restore({})).toThrow();
    f.restore([['k', 7]]);
    expect(f.idOf('k')).toBe(7);
    expect(f.idOf('new')).toBe(8);
  });
});
