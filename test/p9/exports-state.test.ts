import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { qidOf } from '../../src/p9/attr.ts';
import { secretName } from '../../src/p9/exports-root.ts';
import { DirentType, OpenFlags, QidType } from '../../src/p9/messages.ts';
import { P9Server, type P9ServerState } from '../../src/p9/server.ts';
import { bytes, readText, resolve, text } from '../fs/helpers.ts';
import { guestIno, lowerTree, qpath, TestClient } from './client.ts';

function twoContainers() {
  const a = new Overlay({ lower: lowerTree() });
  const b = new Overlay({ lower: lowerTree() });
  const server = new P9Server();
  server.addExport('c1', a);
  server.addExport('c2', b);
  const c = new TestClient(server);
  c.version();
  return { a, b, server, c };
}

describe('P9Server exports', () => {
  it('serves the directory of exports for an empty aname, as the guest agent mounts it', () => {
    const { a, c } = twoContainers();
    const root = c.attach(0, '');
    expect(root.qid).toEqual({ type: QidType.DIR, version: 0, path: 2 ** 31 });
    c.call({ type: 'Tlopen', fid: 0, flags: OpenFlags.RDONLY | OpenFlags.DIRECTORY });
    const { entries } = c.readdirAll(0);
    expect(entries.map((e) => [e.name, e.type])).toEqual([['.', DirentType.DIR], ['..', DirentType.DIR], ['c1', DirentType.DIR], ['c2', DirentType.DIR]]);
    expect(entries[2]!.qid.path).toBe(qpath(a.root().ino, 1));
    expect(entries.map((e) => guestIno(e.qid.path))).not.toContain(0);
    // Walking in enters the export; `..` from there stays in it, never back to the list.
    const w = c.call({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['c1', 'etc', '..', '..', '..', 'etc', 'hostname'] });
    expect(w.wqids.map((q) => q.path)).toEqual([
      a.root().ino, resolve(a, 'etc').ino, a.root().ino, a.root().ino, a.root().ino, resolve(a, 'etc').ino, resolve(a, 'etc/hostname').ino,
    ].map((ino) => qpath(ino, 1)));
    c.walk(0, 2, 'c1');
    expect(c.call({ type: 'Twalk', fid: 2, newfid: 3, wnames: ['..', 'c2'] }).wqids).toHaveLength(1);
    expect(c.errno({ type: 'Tclunk', fid: 3 })).toBe(Errno.EBADF);
    // The list itself is read-only and has no other names.
    expect(c.errno({ type: 'Twalk', fid: 0, newfid: 4, wnames: ['c3'] })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Tmkdir', dfid: 0, name: 'x', mode: 0o755, gid: 0 })).toBe(Errno.EROFS);
    c.walk(0, 10, '');
    expect(c.errno({ type: 'Tlcreate', fid: 10, name: 'x', flags: 1, mode: 0o644, gid: 0 })).toBe(Errno.EROFS);
    expect(c.call({ type: 'Tgetattr', fid: 0, requestMask: 0x7ff }).mode).toBe(0o40555);
    expect(c.call({ type: 'Txattrwalk', fid: 0, newfid: 5, name: '' }).size).toBe(0);
  });

  it('keeps containers apart: same inode numbers, different qids, separate writes', () => {
    const { a, b, c } = twoContainers();
    c.attach(0, '');
    c.walk(0, 1, 'c1/etc/hostname');
    c.walk(0, 2, 'c2/etc/hostname');
    expect(resolve(a, 'etc/hostname').ino).toBe(resolve(b, 'etc/hostname').ino);
    const q1 = c.call({ type: 'Tgetattr', fid: 1, requestMask: 0x7ff }).qid;
    const q2 = c.call({ type: 'Tgetattr', fid: 2, requestMask: 0x7ff }).qid;
    expect(q1.path).not.toBe(q2.path);
    // A 32-bit guest folds qids into st_ino; the fold must never be 0 (readdir would hide the
    // entry) and must stay unique within an export. Serials 1..40 x inodes 1..5000:
    let zeros = 0;
    for (let serial = 0; serial <= 40; serial++) {
      const seen = new Set<number>();
      for (let ino = 0; ino <= 5000; ino++) {
        const folded = guestIno(qidOf({ kind: 'file', ino, version: 0 }, serial).path);
        if (folded === 0) zeros++;
        seen.add(folded);
      }
      expect(seen.size).toBe(5001);
    }
    expect(zeros).toBe(0);
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.WRONLY | OpenFlags.TRUNC });
    c.call({ type: 'Twrite', fid: 1, offset: 0, data: bytes('c1\n') });
    expect(readText(a, 'etc/hostname')).toBe('c1\n');
    expect(readText(b, 'etc/hostname')).toBe('lower\n');
    // Cross-export rename and link are EXDEV.
    c.walk(0, 3, 'c1/etc');
    c.walk(0, 4, 'c2/etc');
    expect(c.errno({ type: 'Trenameat', olddirfid: 3, oldname: 'passwd', newdirfid: 4, newname: 'p' })).toBe(Errno.EXDEV);
    expect(c.errno({ type: 'Tlink', dfid: 4, fid: 1, name: 'l' })).toBe(Errno.EXDEV);
  });

  it('gives a secret-named export only to whoever knows the whole name (one container)', () => {
    const { a, server, c } = twoContainers();
    const name = secretName('c-0123abcd');
    expect(name).toMatch(/^c-0123abcd\.[0-9a-f]{32}$/);
    expect(secretName('c-0123abcd')).not.toBe(name);
    const mine = new Overlay({ lower: null });
    server.addExport(name, mine);
    c.attach(0, '');
    // Not listed, not reachable by its label or any other name; reachable by the exact name.
    const { entries } = c.readdirAll(0);
    expect(entries.map((e) => e.name)).toEqual(['.', '..', 'c1', 'c2']);
    expect(c.call({ type: 'Tgetattr', fid: 0, requestMask: 0x7ff }).nlink).toBe(4);
    expect(c.errno({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['c-0123abcd'] })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Twalk', fid: 0, newfid: 1, wnames: [name.slice(0, -1)] })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Tattach', fid: 1, afid: 0xffffffff, uname: '', aname: 'c-0123abcd', nUname: 0 })).toBe(Errno.ENOENT);
    c.walk(0, 1, name);
    c.call({ type: 'Tattach', fid: 2, afid: 0xffffffff, uname: '', aname: name, nUname: 0 });
    c.call({ type: 'Tmkdir', dfid: 2, name: 'mine', mode: 0o755, gid: 0 });
    expect(mine.readdir(mine.root()).map((e) => e.name)).toEqual(['mine']);
    expect(a.readdir(a.root()).map((e) => e.name)).not.toContain('mine');
  });

  it('drops the fids of a removed export and refuses bad export names', () => {
    const { server, c } = twoContainers();
    c.attach(0, 'c1');
    c.walk(0, 1, 'etc');
    c.attach(2, 'c2');
    server.removeExport('c1');
    expect(c.errno({ type: 'Tgetattr', fid: 1, requestMask: 1 })).toBe(Errno.EBADF);
    expect(c.call({ type: 'Tgetattr', fid: 2, requestMask: 1 }).qid.path).toBe(qpath(1, 2));
    expect(c.errno({ type: 'Tattach', fid: 3, afid: 0xffffffff, uname: '', aname: 'c1', nUname: 0 })).toBe(Errno.ENOENT);
    expect(() => server.addExport('c2', new Overlay({ lower: null }))).toThrow(/already exists/);
    expect(() => server.addExport('a/b', new Overlay({ lower: null }))).toThrow(/one path component/);
    expect(() => server.removeExport('nope')).toThrow(/does not exist/);
  });
});

describe('P9Server saveState/restoreState', () => {
  it('restores fids by path into a new server over the same filesystems, through JSON', () => {
    const { a, b, server, c } = twoContainers();
    c.attach(0, '');
    c.walk(0, 1, 'c1/etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDONLY });
    c.walk(0, 2, 'c2/usr');
    c.call({ type: 'Tlcreate', fid: 2, name: 'log', flags: OpenFlags.WRONLY | OpenFlags.APPEND, mode: 0o644, gid: 0 });
    c.call({ type: 'Twrite', fid: 2, offset: 0, data: bytes('one\n') });
    c.walk(0, 3, 'c1/etc/hostname');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY });
    c.walk(0, 4, 'c1/etc');
    c.call({ type: 'Tunlinkat', dirfid: 4, name: 'hostname', flags: 0 }); // fid 3 loses its name
    c.walk(0, 5, 'c1/etc/passwd');
    c.call({ type: 'Txattrwalk', fid: 5, newfid: 6, name: '' });
    c.call({ type: 'Txattrcreate', fid: 5, name: 'user.half', attrSize: 4, flags: 0 });
    c.call({ type: 'Twrite', fid: 5, offset: 0, data: bytes('ab') });
    c.call({ type: 'Tlock', fid: 1, lockType: 1, flags: 0, start: 0, length: 0, procId: 7, clientId: 'g' });
    const saved = JSON.parse(JSON.stringify(server.saveState())) as P9ServerState;
    expect(saved.fids.find((f) => f.fid === 0)).toMatchObject({ export: null, path: [] });
    expect(saved.fids.find((f) => f.fid === 1)).toMatchObject({ export: 'c1', path: ['etc', 'passwd'], openFlags: 0 });
    expect(saved.fids.find((f) => f.fid === 3)).toMatchObject({ export: 'c1', path: null });

    // A new server (as in a new process), exports added in the other order.
    const fresh = new P9Server();
    fresh.addExport('c2', b);
    fresh.addExport('c1', a);
    fresh.restoreState(saved);
    const c2 = new TestClient(fresh);
    expect(fresh.msize).toBe(131072);
    expect(text(c2.readAll(1))).toBe('root:x:0:0:root:/root:/bin/sh\n');
    c2.call({ type: 'Twrite', fid: 2, offset: 0, data: bytes('two\n') });
    expect(readText(b, 'usr/log')).toBe('one\ntwo\n');
    expect(c2.errno({ type: 'Tread', fid: 3, offset: 0, count: 10 })).toBe(Errno.ENOENT);
    c2.call({ type: 'Tclunk', fid: 3 });
    // The directory of exports, and qid serials kept across the restore.
    expect(c2.call({ type: 'Twalk', fid: 0, newfid: 7, wnames: ['c1'] }).wqids[0]!.path).toBe(qpath(a.root().ino, 1));
    expect(c2.call({ type: 'Tgetattr', fid: 2, requestMask: 1 }).qid.path).toBe(qpath(resolve(b, 'usr/log').ino, 2));
    // The half-written xattr completes after the restore; the lock is still held.
    c2.call({ type: 'Twrite', fid: 5, offset: 2, data: bytes('cd') });
    c2.call({ type: 'Tclunk', fid: 5 });
    expect(text(a.getxattr(resolve(a, 'etc/passwd'), 'user.half'))).toBe('abcd');
    c2.walk(0, 8, 'c1/etc/passwd');
    expect(c2.call({ type: 'Tlock', fid: 8, lockType: 1, flags: 0, start: 0, length: 1, procId: 8, clientId: 'g' }).status).toBe(1);
    // A later export gets a serial that collides with none.
    fresh.addExport('c3', new Overlay({ lower: null }));
    c2.walk(0, 9, 'c3');
    expect(c2.call({ type: 'Tgetattr', fid: 9, requestMask: 1 }).qid.path).toBe(qpath(1, 3));
  });

  it('refuses a state that names a missing export or is not a state at all', () => {
    const { server, c } = twoContainers();
    c.attach(0, 'c1');
    const saved = server.saveState();
    const other = new P9Server();
    other.addExport('c2', new Overlay({ lower: null }));
    expect(() => other.restoreState(saved)).toThrow(/needs export "c1"/);
    expect(() => other.restoreState({} as P9ServerState)).toThrow(/not a skiff-p9-state/);
  });
});

describe('P9Server retargetExport', () => {
  it('points an export at another filesystem, its fids resolved again by path, with a new qid serial', () => {
    const { a, b, server, c } = twoContainers();
    c.attach(0, '');
    c.walk(0, 1, 'c1');            // the export's root, as a mount pins it
    c.walk(0, 2, 'c1/etc');        // a directory the guest keeps a dentry of
    c.walk(0, 3, 'c1/etc/passwd');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY });
    c.walk(0, 4, 'c2/etc');        // another export: untouched
    b.unlink(resolve(b, 'etc'), 'hostname');
    const oldSerial = server.lookupExport('c1')!.serial;
    server.retargetExport('c1', b);
    // Reads and walks now reach b, from the fids the guest already holds.
    expect(text(c.readAll(3))).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(c.call({ type: 'Twalk', fid: 2, newfid: 5, wnames: ['passwd'] }).wqids[0]!.path).toBe(qpath(resolve(b, 'etc/passwd').ino, server.lookupExport('c1')!.serial));
    expect(server.lookupExport('c1')!.serial).not.toBe(oldSerial);
    expect(c.errno({ type: 'Twalk', fid: 2, newfid: 6, wnames: ['hostname'] })).toBe(Errno.ENOENT);
    c.call({ type: 'Tlcreate', fid: 1, name: 'made', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
    expect(() => resolve(b, 'made')).not.toThrow();
    expect(() => resolve(a, 'made')).toThrow();
    expect(c.call({ type: 'Tgetattr', fid: 4, requestMask: 1 }).qid.path).toBe(qpath(resolve(b, 'etc').ino, 2));
    expect(() => server.retargetExport('nope', a)).toThrow(/does not exist/);
  });
});
