import { beforeEach, describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { decodeDirents } from '../../src/p9/codec.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import {
  AT_REMOVEDIR, DirentType, LockStatus, LockType, NOFID, OpenFlags, QidType, SetattrMask, V9FS_MAGIC,
} from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { bytes, readText, resolve, text } from '../fs/helpers.ts';
import { qpath, setup, TestClient } from './client.ts';

const ROOT = 0;

/** Byte equality without vitest's per-element diff (slow on 300 KB). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
}

describe('P9Server over the Overlay', () => {
  let fs: Overlay;
  let server: P9Server;
  let c: TestClient;

  beforeEach(() => {
    ({ fs, server, c } = setup());
  });

  it('negotiates msize and the version, and refuses work before Tversion', () => {
    const fresh = new P9Server({ maxMsize: 65536 });
    fresh.addExport('x', new Overlay({ lower: null }));
    const fc = new TestClient(fresh);
    expect(fc.errno({ type: 'Tattach', fid: 0, afid: NOFID, uname: 'root', aname: 'x', nUname: 0 })).toBe(Errno.EPROTO);
    expect(fc.call({ type: 'Tversion', msize: 131072, version: '9P2000.u' }).version).toBe('unknown');
    const r = fc.call({ type: 'Tversion', msize: 131072, version: '9P2000.L' });
    expect(r).toMatchObject({ msize: 65536, version: '9P2000.L' });
    expect(fresh.msize).toBe(65536);
    expect(fc.call({ type: 'Tversion', msize: 8192, version: '9P2000.L' }).msize).toBe(8192);
    // A request larger than msize is refused with its tag.
    fc.attach(0, 'x');
    const big = fc.raw({ type: 'Twrite', tag: 77, fid: 0, offset: 0, data: new Uint8Array(9000) });
    expect(big).toEqual({ type: 'Rlerror', tag: 77, ecode: Errno.EPROTO });
  });

  it('attaches by aname, and rejects unknown names, reused fids and auth', () => {
    const r = c.attach(1, 'rootfs');
    expect(r.qid.type).toBe(QidType.DIR);
    expect(r.qid.path).toBe(qpath(fs.root().ino));
    expect(c.errno({ type: 'Tattach', fid: 3, afid: NOFID, uname: '', aname: 'nope', nUname: 0 })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Tattach', fid: 1, afid: NOFID, uname: '', aname: 'rootfs', nUname: 0 })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Tattach', fid: 4, afid: 9, uname: '', aname: 'rootfs', nUname: 0 })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Tauth', afid: 9, uname: '', aname: 'rootfs', nUname: 0 })).toBe(Errno.EOPNOTSUPP);
  });

  it('walks paths, returns short walks, and never leaves the export through ..', () => {
    const w = c.walk(ROOT, 1, 'etc/passwd');
    expect(w.wqids.map((q) => q.type)).toEqual([QidType.DIR, QidType.FILE]);
    expect(w.wqids[1]!.path).toBe(qpath(resolve(fs, 'etc/passwd').ino));
    // Second name missing: a short Rwalk and newfid stays free.
    const short = c.call({ type: 'Twalk', fid: ROOT, newfid: 2, wnames: ['etc', 'missing', 'x'] });
    expect(short.wqids).toHaveLength(1);
    expect(c.errno({ type: 'Tclunk', fid: 2 })).toBe(Errno.EBADF);
    // First name missing: an error.
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 2, wnames: ['missing'] })).toBe(Errno.ENOENT);
    // `..` at the root stays at the root, however many.
    const up = c.call({ type: 'Twalk', fid: ROOT, newfid: 3, wnames: ['..', '..', 'etc', '..', '..', '..', 'etc', 'hostname'] });
    expect(up.wqids.map((q) => q.path)).toEqual([
      fs.root().ino, fs.root().ino, resolve(fs, 'etc').ino, fs.root().ino, fs.root().ino, fs.root().ino,
      resolve(fs, 'etc').ino, resolve(fs, 'etc/hostname').ino,
    ].map((ino) => qpath(ino)));
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY });
    expect(text(c.readAll(3))).toBe('lower\n');
    // Names with '/' or NUL, empty names, too many names, walking through a file.
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 4, wnames: ['etc/passwd'] })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 4, wnames: ['etc\0'] })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 4, wnames: [''] })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 4, wnames: Array(17).fill('.') })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Twalk', fid: 1, newfid: 4, wnames: ['x'] })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Twalk', fid: ROOT, newfid: 1, wnames: [] })).toBe(Errno.EINVAL);
    // Walking with newfid == fid moves the fid.
    c.walk(ROOT, 5, '');
    c.walk(5, 5, 'usr/share/doc');
    expect(server.saveState().fids.find((f) => f.fid === 5)!.path).toEqual(['usr', 'share', 'doc']);
    // Symlinks are not followed by walk.
    expect(c.walk(ROOT, 6, 'bin/sh').wqids[1]!.type).toBe(QidType.SYMLINK);
    expect(c.call({ type: 'Treadlink', fid: 6 }).target).toBe('busybox');
  });

  it('creates, writes and reads back a file, and the bytes land in the overlay', () => {
    c.walk(ROOT, 1, 'etc');
    const created = c.call({ type: 'Tlcreate', fid: 1, name: 'newfile', flags: OpenFlags.RDWR | OpenFlags.CREAT, mode: 0o100640, gid: 42 });
    expect(created.qid.type).toBe(QidType.FILE);
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    let off = 0;
    while (off < payload.length) {
      const n = Math.min(65536 - 23, payload.length - off);
      expect(c.call({ type: 'Twrite', fid: 1, offset: off, data: payload.subarray(off, off + n) }).count).toBe(n);
      off += n;
    }
    c.call({ type: 'Tclunk', fid: 1 });
    const node = resolve(fs, 'etc/newfile');
    expect(fs.stat(node)).toMatchObject({ size: payload.length, mode: 0o640, uid: 0, gid: 42 });
    expectBytes(fs.read(node, 0, payload.length), payload);
    c.walk(ROOT, 2, 'etc/newfile');
    c.call({ type: 'Tlopen', fid: 2, flags: OpenFlags.RDONLY });
    expectBytes(c.readAll(2), payload);
    expect(c.errno({ type: 'Twrite', fid: 2, offset: 0, data: bytes('x') })).toBe(Errno.EBADF);
    // O_EXCL on an existing name fails; without it, lcreate opens (and truncates) the existing file.
    c.walk(ROOT, 3, 'etc');
    expect(c.errno({ type: 'Tlcreate', fid: 3, name: 'hostname', flags: OpenFlags.WRONLY | OpenFlags.CREAT | OpenFlags.EXCL, mode: 0o644, gid: 0 })).toBe(Errno.EEXIST);
    c.call({ type: 'Tlcreate', fid: 3, name: 'hostname', flags: OpenFlags.WRONLY | OpenFlags.CREAT | OpenFlags.TRUNC, mode: 0o644, gid: 0 });
    c.call({ type: 'Twrite', fid: 3, offset: 0, data: bytes('upper\n') });
    c.walk(ROOT, 9, '');
    expect(c.errno({ type: 'Tlcreate', fid: 9, name: 'etc', flags: OpenFlags.RDONLY | OpenFlags.CREAT, mode: 0o644, gid: 0 })).toBe(Errno.EISDIR);
    expect(readText(fs, 'etc/hostname')).toBe('upper\n');
    // The lower layer is untouched by the copy-up.
    expect(text(fs.lowerTree.root.children!.get('etc')!.children!.get('hostname')!.content!.read(0, 100))).toBe('lower\n');
  });

  it('caps Tread at msize and appends with O_APPEND', () => {
    const small = new P9Server();
    small.addExport('', fs);
    const sc = new TestClient(small);
    expect(sc.version(4096)).toBe(4096);
    sc.attach(0);
    sc.walk(0, 1, 'etc');
    sc.call({ type: 'Tlcreate', fid: 1, name: 'big', flags: OpenFlags.RDWR, mode: 0o644, gid: 0 });
    sc.call({ type: 'Twrite', fid: 1, offset: 0, data: new Uint8Array(4000).fill(1) });
    sc.call({ type: 'Twrite', fid: 1, offset: 4000, data: new Uint8Array(4000).fill(2) });
    const r = sc.call({ type: 'Tread', fid: 1, offset: 0, count: 1 << 20 });
    expect(r.data.length).toBe(4096 - 11);
    expect(sc.readAll(1, 1 << 20).length).toBe(8000);
    sc.walk(0, 2, 'etc/big');
    sc.call({ type: 'Tlopen', fid: 2, flags: OpenFlags.WRONLY | OpenFlags.APPEND });
    sc.call({ type: 'Twrite', fid: 2, offset: 0, data: bytes('END') });
    expect(text(fs.read(resolve(fs, 'etc/big'), 8000, 10))).toBe('END');
  });

  it('pages readdir with stable cookies, including . and .., even while entries are deleted', () => {
    c.walk(ROOT, 1, 'usr/share/doc');
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `file-${String(i).padStart(3, '0')}-${'x'.repeat(i % 40)}`;
      names.push(name);
      c.walk(1, 2, '');
      c.call({ type: 'Tlcreate', fid: 2, name, flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
      c.call({ type: 'Tclunk', fid: 2 });
    }
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDONLY | OpenFlags.DIRECTORY });
    const { entries, pages } = c.readdirAll(1, 1024);
    expect(pages).toBeGreaterThan(10);
    expect(entries.map((e) => e.name)).toEqual(['.', '..', ...fs.readdir(resolve(fs, 'usr/share/doc')).map((e) => e.name)]);
    expect(entries.map((e) => e.name).slice(2).sort()).toEqual(names);
    expect(entries[0]!.qid.path).toBe(qpath(resolve(fs, 'usr/share/doc').ino));
    expect(entries[1]!.qid.path).toBe(qpath(resolve(fs, 'usr/share').ino));
    expect(entries.every((e, i) => e.offset === i + 1)).toBe(true);
    expect(entries[2]!.type).toBe(DirentType.REG);
    // rm -rf style: unlink each entry of a page before reading the next; nothing is skipped.
    c.walk(ROOT, 3, 'usr/share/doc');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY });
    const seen: string[] = [];
    let offset = 0;
    for (;;) {
      const r = c.call({ type: 'Treaddir', fid: 3, offset, count: 600 });
      const ents = decodeDirents(r.data);
      if (ents.length === 0) break;
      for (const e of ents) {
        seen.push(e.name);
        if (e.name !== '.' && e.name !== '..') c.call({ type: 'Tunlinkat', dirfid: 3, name: e.name, flags: 0 });
      }
      offset = ents[ents.length - 1]!.offset;
    }
    expect(seen.slice(2).sort()).toEqual(names);
    expect(fs.readdir(resolve(fs, 'usr/share/doc'))).toEqual([]);
    // The root's .. is the root itself; readdir on a file is ENOTDIR; a tiny count is EINVAL.
    c.walk(ROOT, 4, '');
    c.call({ type: 'Tlopen', fid: 4, flags: OpenFlags.RDONLY });
    const rootEntries = c.readdirAll(4).entries;
    expect(rootEntries[1]).toMatchObject({ name: '..', qid: { path: qpath(fs.root().ino) } });
    expect(rootEntries.map((e) => e.name).sort()).toEqual(['.', '..', 'bin', 'etc', 'usr']);
    expect(c.errno({ type: 'Treaddir', fid: 4, offset: 0, count: 10 })).toBe(Errno.EINVAL);
    c.walk(ROOT, 5, 'etc/passwd');
    expect(c.errno({ type: 'Treaddir', fid: 5, offset: 0, count: 4096 })).toBe(Errno.ENOTDIR);
  });
});
