import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { LockStatus, LockType, OpenFlags, V9FS_MAGIC, XattrFlags } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { bytes, resolve, text } from '../fs/helpers.ts';
import { lowerTree, setup, TestClient } from './client.ts';

const ROOT = 0;

describe('P9Server xattrs', () => {
  it('lists an empty xattr set as size 0 (overlayfs copy-up needs it), not ENODATA', () => {
    const { c } = setup();
    c.walk(ROOT, 1, 'etc/passwd');
    expect(c.call({ type: 'Txattrwalk', fid: 1, newfid: 2, name: '' }).size).toBe(0);
    expect(c.call({ type: 'Tread', fid: 2, offset: 0, count: 4096 }).data.length).toBe(0);
    c.call({ type: 'Tclunk', fid: 2 });
    // A missing attribute is ENODATA, and no fid is created.
    expect(c.errno({ type: 'Txattrwalk', fid: 1, newfid: 3, name: 'user.none' })).toBe(Errno.ENODATA);
    expect(c.errno({ type: 'Tclunk', fid: 3 })).toBe(Errno.EBADF);
  });

  it('sets with xattrcreate + write + clunk, reads back, lists, and removes with size 0', () => {
    const { fs, c } = setup();
    c.walk(ROOT, 1, 'etc/passwd');
    const value = bytes('trusted value \u00e9');
    c.walk(1, 2, '');
    c.call({ type: 'Txattrcreate', fid: 2, name: 'user.comment', attrSize: value.length, flags: 0 });
    c.call({ type: 'Twrite', fid: 2, offset: 0, data: value.subarray(0, 5) });
    c.call({ type: 'Twrite', fid: 2, offset: 5, data: value.subarray(5) });
    // Nothing is set before the clunk.
    expect(fs.listxattr(resolve(fs, 'etc/passwd'))).toEqual([]);
    c.call({ type: 'Tclunk', fid: 2 });
    expect(text(fs.getxattr(resolve(fs, 'etc/passwd'), 'user.comment'))).toBe('trusted value \u00e9');
    c.walk(1, 2, '');
    c.call({ type: 'Txattrcreate', fid: 2, name: 'trusted.overlay.opaque', attrSize: 1, flags: XattrFlags.CREATE });
    c.call({ type: 'Twrite', fid: 2, offset: 0, data: bytes('y') });
    c.call({ type: 'Tclunk', fid: 2 });
    const list = c.call({ type: 'Txattrwalk', fid: 1, newfid: 3, name: '' });
    expect(text(c.readAll(3))).toBe('user.comment\0trusted.overlay.opaque\0');
    expect(list.size).toBe('user.comment\0trusted.overlay.opaque\0'.length);
    const one = c.call({ type: 'Txattrwalk', fid: 1, newfid: 4, name: 'user.comment' });
    expect(one.size).toBe(value.length);
    expect(c.readAll(4, 3)).toEqual(value);
    // XATTR_CREATE on an existing name fails at clunk, and the fid is gone anyway.
    c.walk(1, 5, '');
    c.call({ type: 'Txattrcreate', fid: 5, name: 'user.comment', attrSize: 1, flags: XattrFlags.CREATE });
    c.call({ type: 'Twrite', fid: 5, offset: 0, data: bytes('z') });
    expect(c.errno({ type: 'Tclunk', fid: 5 })).toBe(Errno.EEXIST);
    expect(c.errno({ type: 'Tclunk', fid: 5 })).toBe(Errno.EBADF);
    // A short write before clunk is EINVAL; writing past the declared size is refused.
    c.walk(1, 6, '');
    c.call({ type: 'Txattrcreate', fid: 6, name: 'user.short', attrSize: 4, flags: 0 });
    expect(c.errno({ type: 'Twrite', fid: 6, offset: 2, data: bytes('abc') })).toBe(Errno.ENOSPC);
    c.call({ type: 'Twrite', fid: 6, offset: 0, data: bytes('ab') });
    expect(c.errno({ type: 'Tclunk', fid: 6 })).toBe(Errno.EINVAL);
    // removexattr: size 0 with XATTR_REPLACE.
    c.walk(1, 7, '');
    c.call({ type: 'Txattrcreate', fid: 7, name: 'user.comment', attrSize: 0, flags: XattrFlags.REPLACE });
    c.call({ type: 'Tclunk', fid: 7 });
    expect(fs.listxattr(resolve(fs, 'etc/passwd'))).toEqual(['trusted.overlay.opaque']);
    // Limits and bad input.
    c.walk(1, 8, '');
    expect(c.errno({ type: 'Txattrcreate', fid: 8, name: 'user.big', attrSize: 65537, flags: 0 })).toBe(Errno.E2BIG);
    expect(c.errno({ type: 'Txattrcreate', fid: 8, name: '', attrSize: 1, flags: 0 })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Txattrcreate', fid: 8, name: 'user.x', attrSize: 1, flags: 4 })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Txattrwalk', fid: 1, newfid: 9, name: 'a\0b' })).toBe(Errno.EINVAL);
    // An xattr fid is not a node fid.
    expect(c.errno({ type: 'Tgetattr', fid: 3, requestMask: 1 })).toBe(Errno.EBADF);
    expect(c.errno({ type: 'Twrite', fid: 3, offset: 0, data: bytes('x') })).toBe(Errno.EBADF);
  });
});

describe('P9Server locks', () => {
  const lock = (fid: number, lockType: number, start: number, length: number, procId: number, clientId = 'guest') =>
    ({ type: 'Tlock', fid, lockType, flags: 0, start, length, procId, clientId }) as const;

  it('grants, conflicts, reports and releases POSIX record locks', () => {
    const { c } = setup();
    c.walk(ROOT, 1, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDWR });
    c.walk(ROOT, 2, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 2, flags: OpenFlags.RDWR });
    expect(c.call(lock(1, LockType.WRLCK, 0, 100, 10)).status).toBe(LockStatus.SUCCESS);
    // Another process: overlapping write or read lock is blocked; a disjoint range is fine.
    expect(c.call(lock(2, LockType.WRLCK, 50, 10, 20)).status).toBe(LockStatus.BLOCKED);
    expect(c.call(lock(2, LockType.RDLCK, 99, 0, 20)).status).toBe(LockStatus.BLOCKED);
    expect(c.call(lock(2, LockType.WRLCK, 100, 10, 20)).status).toBe(LockStatus.SUCCESS);
    // The same process upgrades/overlaps its own lock freely.
    expect(c.call(lock(1, LockType.RDLCK, 10, 10, 10)).status).toBe(LockStatus.SUCCESS);
    const held = c.call({ type: 'Tgetlock', fid: 2, lockType: LockType.WRLCK, start: 0, length: 0, procId: 20, clientId: 'guest' });
    expect(held).toMatchObject({ lockType: LockType.WRLCK, start: 0, length: 10, procId: 10, clientId: 'guest' });
    const free = c.call({ type: 'Tgetlock', fid: 2, lockType: LockType.WRLCK, start: 200, length: 5, procId: 20, clientId: 'guest' });
    expect(free).toMatchObject({ lockType: LockType.UNLCK, start: 200, length: 5, procId: 20 });
    // Read locks share.
    expect(c.call(lock(2, LockType.UNLCK, 0, 0, 20)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(1, LockType.UNLCK, 0, 0, 10)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(1, LockType.RDLCK, 0, 0, 10)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(2, LockType.RDLCK, 0, 50, 30)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(2, LockType.WRLCK, 0, 50, 30)).status).toBe(LockStatus.BLOCKED);
    // Unlock of part of a range splits it: the freed middle becomes lockable by others.
    expect(c.call(lock(1, LockType.UNLCK, 0, 0, 10)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(2, LockType.UNLCK, 0, 0, 30)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(1, LockType.WRLCK, 0, 300, 10)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(1, LockType.UNLCK, 120, 10, 10)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(2, LockType.WRLCK, 120, 10, 40)).status).toBe(LockStatus.SUCCESS);
    expect(c.call(lock(2, LockType.WRLCK, 119, 2, 40)).status).toBe(LockStatus.BLOCKED);
    // Clunking the fid drops the locks set through it.
    c.call({ type: 'Tclunk', fid: 1 });
    expect(c.call(lock(2, LockType.WRLCK, 0, 0, 40)).status).toBe(LockStatus.SUCCESS);
    expect(c.errno(lock(2, 3, 0, 0, 40))).toBe(Errno.EINVAL);
  });
});

describe('P9Server read-only exports, statfs, fsync, flush', () => {
  it('serves reads and refuses every change with EROFS', () => {
    const server = new P9Server();
    server.addExport('ro', new Overlay({ lower: lowerTree() }), { readOnly: true });
    const c = new TestClient(server);
    c.version();
    c.attach(0, 'ro');
    c.walk(0, 1, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDONLY });
    expect(text(c.readAll(1))).toContain('root');
    c.walk(0, 2, 'etc');
    c.walk(0, 3, 'etc/hostname');
    const zero = { mode: 0, uid: 0, gid: 0, size: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 };
    expect(c.errno({ type: 'Tlopen', fid: 3, flags: OpenFlags.WRONLY })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY | OpenFlags.TRUNC })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tlcreate', fid: 2, name: 'n', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tmkdir', dfid: 2, name: 'n', mode: 0o755, gid: 0 })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tsymlink', fid: 2, name: 'n', symtgt: 'x', gid: 0 })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tunlinkat', dirfid: 2, name: 'passwd', flags: 0 })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Trenameat', olddirfid: 2, oldname: 'passwd', newdirfid: 2, newname: 'p' })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tsetattr', fid: 3, valid: 1, ...zero })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Txattrcreate', fid: 3, name: 'user.a', attrSize: 1, flags: 0 })).toBe(Errno.EROFS);
    expect(c.errno({ type: 'Tremove', fid: 3 })).toBe(Errno.EROFS);
  });

  it('answers statfs with V9FS_MAGIC and the filesystem numbers; fsync and flush succeed', () => {
    const { fs, c } = setup();
    const st = fs.statfs();
    const r = c.call({ type: 'Tstatfs', fid: ROOT });
    expect(r).toMatchObject({ fsType: V9FS_MAGIC, bsize: st.blockSize, blocks: st.blocks, bfree: st.blocksFree, files: st.files, namelen: st.nameMax });
    c.walk(ROOT, 1, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 1, flags: OpenFlags.RDONLY });
    c.call({ type: 'Tfsync', fid: 1, datasync: 0 });
    expect(c.errno({ type: 'Tfsync', fid: 99, datasync: 0 })).toBe(Errno.EBADF);
    expect(c.call({ type: 'Tflush', oldtag: 5 }).type).toBe('Rflush');
  });
});
