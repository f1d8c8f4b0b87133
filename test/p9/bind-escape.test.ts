/**
 * Issue 10 High 1 and 2 at the 9P layer: what a guest (or a compromised guest kernel speaking raw
 * 9P) can send about a bind mount must never touch a host file outside it.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { HostDirFileSystem } from '../../src/fs/host-dir.ts';
import { OpenFlags, SetattrMask } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { bytes } from '../fs/helpers.ts';
import { hostFixture, type HostFixture } from '../fs/host-fixture.ts';
import { setup, TestClient } from './client.ts';

let fx: HostFixture;
afterEach(() => fx?.cleanup());

const zero = { mode: 0, uid: 0, gid: 0, size: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 };

function bindServer() {
  fx = hostFixture();
  fs.writeFileSync(join(fx.bind, 'b'), 'bee');
  fs.symlinkSync(fx.outside, join(fx.bind, 'out'));
  const server = new P9Server();
  server.addExport('vol', new HostDirFileSystem({ path: fx.bind }));
  const c = new TestClient(server);
  c.version();
  c.attach(0, 'vol');
  return c;
}

describe('9P over a bind mount: no escape', () => {
  it('chmod/truncate of an fd whose name was replaced by a symlink reach no host file (High 1)', () => {
    const c = bindServer();
    c.walk(0, 3, 'b');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDWR }); // exec 3<>b
    c.call({ type: 'Tsymlink', fid: 0, name: 'a', symtgt: fx.sentinel, gid: 0 }); // ln -s <host file> a
    c.call({ type: 'Trenameat', olddirfid: 0, oldname: 'a', newdirfid: 0, newname: 'b' }); // mv -f a b
    expect(c.errno({ type: 'Tsetattr', fid: 3, ...zero, valid: SetattrMask.MODE, mode: 0o777 })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Tsetattr', fid: 3, ...zero, valid: SetattrMask.SIZE, size: 0 })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Tsetattr', fid: 3, ...zero, valid: SetattrMask.MTIME | SetattrMask.MTIME_SET, mtimeSec: 9 })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Twrite', fid: 3, offset: 0, data: bytes('pwned') })).toBe(Errno.ENOENT);
    // The symlink itself: no mode, no size.
    c.walk(0, 4, 'b');
    expect(c.errno({ type: 'Tsetattr', fid: 4, ...zero, valid: SetattrMask.MODE, mode: 0o777 })).toBe(Errno.EOPNOTSUPP);
    expect(c.errno({ type: 'Tsetattr', fid: 4, ...zero, valid: SetattrMask.SIZE, size: 0 })).toBe(Errno.EINVAL);
    expect(fx.changes()).toEqual([]);
  });

  it('times and owner set on a symlink in the bind change the link, never what it points to (High 1, last component)', () => {
    const c = bindServer();
    c.call({ type: 'Tsymlink', fid: 0, name: 'esc', symtgt: fx.sentinel, gid: 0 });
    const uid = process.getuid!();
    const gid = process.getgid!();
    for (const [fid, name] of [[3, 'out'], [4, 'esc']] as const) {
      c.walk(0, fid, name);
      c.call({ type: 'Tsetattr', fid, ...zero, valid: SetattrMask.ATIME | SetattrMask.ATIME_SET | SetattrMask.MTIME | SetattrMask.MTIME_SET, atimeSec: 7, mtimeSec: 7 });
      c.call({ type: 'Tsetattr', fid, ...zero, valid: SetattrMask.UID | SetattrMask.GID, uid, gid });
      expect(fs.lstatSync(join(fx.bind, name)).mtimeMs).toBe(7000);
    }
    expect(fx.changes()).toEqual([]);
  });

  it('raw walks, creates and renames through a symlink to a host directory are refused (High 2)', () => {
    const c = bindServer();
    // A walk stops at the symlink: a short Rwalk, and the new fid is not made.
    const w = c.call({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['out', 'sentinel'] });
    expect(w.wqids).toHaveLength(1);
    expect(c.errno({ type: 'Tgetattr', fid: 1, requestMask: 0x7ff })).toBe(Errno.EBADF);
    c.walk(0, 2, 'out');
    expect(c.errno({ type: 'Twalk', fid: 2, newfid: 5, wnames: ['sentinel'] })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Twalk', fid: 2, newfid: 5, wnames: ['dir', 'secret'] })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tlcreate', fid: 2, name: 'planted', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tmkdir', dfid: 2, name: 'planted', mode: 0o755, gid: 0 })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tsymlink', fid: 2, name: 'planted', symtgt: '/', gid: 0 })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tunlinkat', dirfid: 2, name: 'sentinel', flags: 0 })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Trenameat', olddirfid: 2, oldname: 'sentinel', newdirfid: 0, newname: 'stolen' })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Trenameat', olddirfid: 0, oldname: 'b', newdirfid: 2, newname: 'dropped' })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tlink', dfid: 2, fid: 0, name: 'x' })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tlopen', fid: 2, flags: OpenFlags.RDONLY })).toBe(Errno.ELOOP);
    expect(c.errno({ type: 'Treaddir', fid: 2, offset: 0, count: 4096 })).toBe(Errno.ENOTDIR);
    expect(fx.changes()).toEqual([]);
  });
});

describe('Tsetattr checks the file kind', () => {
  it('refuses a size on a directory or a symlink and a mode on a symlink, before the filesystem sees it', () => {
    const { c } = setup();
    c.walk(0, 1, 'etc');
    expect(c.errno({ type: 'Tsetattr', fid: 1, ...zero, valid: SetattrMask.SIZE, size: 0 })).toBe(Errno.EISDIR);
    c.walk(0, 2, 'bin/sh');
    expect(c.errno({ type: 'Tsetattr', fid: 2, ...zero, valid: SetattrMask.SIZE, size: 0 })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Tsetattr', fid: 2, ...zero, valid: SetattrMask.MODE, mode: 0o600 })).toBe(Errno.EOPNOTSUPP);
    c.call({ type: 'Tsetattr', fid: 2, ...zero, valid: SetattrMask.UID, uid: 5 });
    expect(c.call({ type: 'Tgetattr', fid: 2, requestMask: 0x7ff }).uid).toBe(5);
  });
});
