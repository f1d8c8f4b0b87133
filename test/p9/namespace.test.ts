import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/fs/errno.ts';
import { AT_REMOVEDIR, OpenFlags, QidType } from '../../src/p9/messages.ts';
import { readText, resolve, text } from '../fs/helpers.ts';
import { qpath, setup } from './client.ts';

const ROOT = 0;

describe('P9Server namespace operations', () => {
  it('renames with Trenameat and Trename, and open fids follow the move', () => {
    const { fs, server, c } = setup();
    c.walk(ROOT, 1, 'etc');
    c.walk(ROOT, 2, 'usr/share');
    c.walk(ROOT, 3, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY });
    c.call({ type: 'Trenameat', olddirfid: 1, oldname: 'passwd', newdirfid: 2, newname: 'pw' });
    expect(() => resolve(fs, 'etc/passwd')).toThrow(/ENOENT/);
    expect(readText(fs, 'usr/share/pw')).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(text(c.readAll(3))).toBe('root:x:0:0:root:/root:/bin/sh\n');
    const paths = () => Object.fromEntries(server.saveState().fids.map((f) => [f.fid, f.path]));
    expect(paths()[3]).toEqual(['usr', 'share', 'pw']);
    // Trename moves the node a fid names; a directory rename carries the fids below it.
    c.walk(ROOT, 4, 'usr/share/doc');
    c.walk(ROOT, 5, 'usr');
    c.call({ type: 'Trename', fid: 2, dfid: ROOT, name: 'data' });
    expect(paths()).toMatchObject({ 2: ['data'], 3: ['data', 'pw'], 4: ['data', 'doc'], 5: ['usr'] });
    expect(readText(fs, 'data/pw')).toContain('root');
    // Renaming over an existing file replaces it; fids on the replaced file lose their name.
    c.walk(ROOT, 6, 'etc/hostname');
    c.call({ type: 'Trenameat', olddirfid: 2, oldname: 'pw', newdirfid: 1, newname: 'hostname' });
    expect(readText(fs, 'etc/hostname')).toContain('root');
    expect(paths()).toMatchObject({ 3: ['etc', 'hostname'], 6: null });
    // Renaming one name of an inode onto another name of it does nothing; both fids keep their names.
    c.walk(ROOT, 7, 'etc');
    c.call({ type: 'Tlink', dfid: 7, fid: 3, name: 'twin' });
    c.walk(ROOT, 8, 'etc/twin');
    c.call({ type: 'Trenameat', olddirfid: 7, oldname: 'hostname', newdirfid: 7, newname: 'twin' });
    expect(paths()).toMatchObject({ 3: ['etc', 'hostname'], 8: ['etc', 'twin'] });
    expect(resolve(fs, 'etc/hostname').ino).toBe(resolve(fs, 'etc/twin').ino);
    // Errors: missing source, bad names, the export root, a directory into itself.
    expect(c.errno({ type: 'Trenameat', olddirfid: 1, oldname: 'nope', newdirfid: 1, newname: 'x' })).toBe(Errno.ENOENT);
    expect(c.errno({ type: 'Trenameat', olddirfid: 1, oldname: 'hostname', newdirfid: 1, newname: 'a/b' })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Trenameat', olddirfid: 1, oldname: '..', newdirfid: 1, newname: 'x' })).toBe(Errno.EINVAL);
    expect(c.errno({ type: 'Trename', fid: ROOT, dfid: 1, name: 'root' })).toBe(Errno.EBUSY);
    expect(c.errno({ type: 'Trename', fid: 2, dfid: 4, name: 'loop' })).toBe(Errno.EINVAL);
  });

  it('unlinks files and directories with Tunlinkat and Tremove', () => {
    const { fs, c } = setup();
    c.walk(ROOT, 1, 'usr/share');
    expect(c.errno({ type: 'Tunlinkat', dirfid: 1, name: 'doc', flags: 0 })).toBe(Errno.EISDIR);
    c.walk(ROOT, 2, 'usr');
    expect(c.errno({ type: 'Tunlinkat', dirfid: 2, name: 'share', flags: AT_REMOVEDIR })).toBe(Errno.ENOTEMPTY);
    c.call({ type: 'Tunlinkat', dirfid: 1, name: 'doc', flags: AT_REMOVEDIR });
    expect(fs.readdir(resolve(fs, 'usr/share'))).toEqual([]);
    c.walk(ROOT, 3, 'etc');
    expect(c.errno({ type: 'Tunlinkat', dirfid: 3, name: 'passwd', flags: AT_REMOVEDIR })).toBe(Errno.ENOTDIR);
    expect(c.errno({ type: 'Tunlinkat', dirfid: 3, name: 'passwd', flags: 0x1 })).toBe(Errno.EINVAL);
    // An open file stays readable after its name is gone.
    c.walk(ROOT, 4, 'etc/passwd');
    c.call({ type: 'Tlopen', fid: 4, flags: OpenFlags.RDONLY });
    c.call({ type: 'Tunlinkat', dirfid: 3, name: 'passwd', flags: 0 });
    expect(text(c.readAll(4))).toContain('root');
    expect(c.call({ type: 'Tgetattr', fid: 4, requestMask: 0x7ff }).nlink).toBe(0);
    // Tremove removes and clunks; on failure it still clunks.
    c.walk(ROOT, 5, 'etc/hostname');
    c.call({ type: 'Tremove', fid: 5 });
    expect(() => resolve(fs, 'etc/hostname')).toThrow(/ENOENT/);
    expect(c.errno({ type: 'Tclunk', fid: 5 })).toBe(Errno.EBADF);
    c.walk(ROOT, 6, 'usr');
    expect(c.errno({ type: 'Tremove', fid: 6 })).toBe(Errno.ENOTEMPTY);
    expect(c.errno({ type: 'Tclunk', fid: 6 })).toBe(Errno.EBADF);
    expect(c.errno({ type: 'Tremove', fid: ROOT })).toBe(Errno.EBUSY);
  });

  it('makes directories, symlinks, hard links and device nodes', () => {
    const { fs, c } = setup();
    c.walk(ROOT, 1, 'usr');
    const mk = c.call({ type: 'Tmkdir', dfid: 1, name: 'local', mode: 0o40750, gid: 7 });
    expect(mk.qid.type).toBe(QidType.DIR);
    expect(fs.stat(resolve(fs, 'usr/local'))).toMatchObject({ kind: 'directory', mode: 0o750, uid: 0, gid: 7 });
    expect(c.errno({ type: 'Tmkdir', dfid: 1, name: 'local', mode: 0o755, gid: 0 })).toBe(Errno.EEXIST);
    const sl = c.call({ type: 'Tsymlink', fid: 1, name: 'lnk', symtgt: '../etc/passwd', gid: 0 });
    expect(sl.qid.type).toBe(QidType.SYMLINK);
    expect(fs.readlink(resolve(fs, 'usr/lnk'))).toBe('../etc/passwd');
    c.walk(ROOT, 2, 'etc/passwd');
    c.call({ type: 'Tlink', dfid: 1, fid: 2, name: 'hard' });
    expect(resolve(fs, 'usr/hard').ino).toBe(resolve(fs, 'etc/passwd').ino);
    expect(c.call({ type: 'Tgetattr', fid: 2, requestMask: 0x7ff }).nlink).toBe(2);
    c.walk(ROOT, 3, 'usr');
    expect(c.errno({ type: 'Tlink', dfid: 1, fid: 3, name: 'dirlink' })).toBe(Errno.EPERM);
    // mknod: char device with its numbers, a fifo, a regular file; a directory type is refused.
    c.call({ type: 'Tmknod', dfid: 1, name: 'null', mode: 0o020666, major: 1, minor: 3, gid: 0 });
    c.call({ type: 'Tmknod', dfid: 1, name: 'big', mode: 0o060600, major: 259, minor: 70000, gid: 0 });
    c.call({ type: 'Tmknod', dfid: 1, name: 'fifo', mode: 0o010644, major: 0, minor: 0, gid: 0 });
    c.call({ type: 'Tmknod', dfid: 1, name: 'plain', mode: 0o100600, major: 0, minor: 0, gid: 0 });
    expect(c.errno({ type: 'Tmknod', dfid: 1, name: 'd', mode: 0o040755, major: 0, minor: 0, gid: 0 })).toBe(Errno.EINVAL);
    c.walk(ROOT, 4, 'usr/null');
    const ga = c.call({ type: 'Tgetattr', fid: 4, requestMask: 0x7ff });
    expect(ga.mode).toBe(0o020666);
    expect(ga.rdev).toBe(0x103);
    c.walk(ROOT, 5, 'usr/big');
    // new_encode_dev(259, 70000) = (70000 & 0xff) | (259 << 8) | ((70000 & ~0xff) << 12)
    expect(c.call({ type: 'Tgetattr', fid: 5, requestMask: 0x7ff }).rdev).toBe((70000 & 0xff) | (259 << 8) | ((70000 & ~0xff) * 4096));
    expect(fs.stat(resolve(fs, 'usr/fifo')).kind).toBe('fifo');
    expect(fs.stat(resolve(fs, 'usr/plain'))).toMatchObject({ kind: 'file', mode: 0o600 });
    // Names that are not one component are refused everywhere.
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) {
      const want = name.length > 255 ? Errno.ENAMETOOLONG : Errno.EINVAL;
      expect(c.errno({ type: 'Tmkdir', dfid: 1, name, mode: 0o755, gid: 0 })).toBe(want);
      expect(c.errno({ type: 'Tlcreate', fid: 3, name, flags: 0, mode: 0o644, gid: 0 })).toBe(want);
    }
    expect(c.errno({ type: 'Tsymlink', fid: 1, name: 'empty', symtgt: '', gid: 0 })).toBe(Errno.EINVAL);
  });

  it('gets and sets attributes as the mask bits say', () => {
    const { fs, c } = setup();
    c.walk(ROOT, 1, 'etc/passwd');
    const before = c.call({ type: 'Tgetattr', fid: 1, requestMask: 0x3fff });
    expect(before).toMatchObject({
      valid: 0x7ff, mode: 0o100644, uid: 0, gid: 0, nlink: 1, size: 30, blksize: 4096, blocks: 1,
      mtimeSec: 1_700_000_000, mtimeNsec: 0,
    });
    expect(before.qid).toEqual({ type: QidType.FILE, version: 0, path: qpath(resolve(fs, 'etc/passwd').ino) });
    // mode + uid + gid + size, explicit mtime, atime "now" (server clock).
    c.call({
      type: 'Tsetattr', fid: 1, valid: 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x100,
      mode: 0o104755, uid: 1000, gid: 100, size: 4, atimeSec: 1, atimeNsec: 0, mtimeSec: 1_600_000_000, mtimeNsec: 500_000_000,
    });
    const after = c.call({ type: 'Tgetattr', fid: 1, requestMask: 0x7ff });
    expect(after).toMatchObject({
      mode: 0o104755, uid: 1000, gid: 100, size: 4, mtimeSec: 1_600_000_000, mtimeNsec: 500_000_000,
      atimeSec: 1_750_000_000, atimeNsec: 0,
    });
    expect(after.qid.version).toBeGreaterThan(before.qid.version);
    expect(readText(fs, 'etc/passwd')).toBe('root');
    // Only what valid selects changes.
    c.call({ type: 'Tsetattr', fid: 1, valid: 0x1, mode: 0o600, uid: 5, gid: 5, size: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 });
    expect(fs.stat(resolve(fs, 'etc/passwd'))).toMatchObject({ mode: 0o600, uid: 1000, gid: 100, size: 4 });
    // Truncating a directory is EISDIR; O_TRUNC through lopen empties a file.
    c.walk(ROOT, 2, 'etc');
    expect(c.errno({ type: 'Tsetattr', fid: 2, valid: 0x8, mode: 0, uid: 0, gid: 0, size: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0 })).toBe(Errno.EISDIR);
    c.walk(ROOT, 3, 'etc/hostname');
    c.call({ type: 'Tlopen', fid: 3, flags: OpenFlags.WRONLY | OpenFlags.TRUNC });
    expect(fs.stat(resolve(fs, 'etc/hostname')).size).toBe(0);
    expect(c.errno({ type: 'Tlopen', fid: 3, flags: OpenFlags.RDONLY })).toBe(Errno.EINVAL);
    c.walk(ROOT, 4, 'etc');
    expect(c.errno({ type: 'Tlopen', fid: 4, flags: OpenFlags.RDWR })).toBe(Errno.EISDIR);
    c.walk(ROOT, 5, 'etc/passwd');
    expect(c.errno({ type: 'Tlopen', fid: 5, flags: OpenFlags.DIRECTORY })).toBe(Errno.ENOTDIR);
    c.walk(ROOT, 6, 'bin/sh');
    expect(c.errno({ type: 'Tlopen', fid: 6, flags: OpenFlags.RDONLY })).toBe(Errno.ELOOP);
    expect(c.errno({ type: 'Treadlink', fid: 5 })).toBe(Errno.EINVAL);
  });
});
