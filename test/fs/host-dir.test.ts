/**
 * Bind-mount escapes (issue 10, High 1 and 2): nothing done through a HostDirFileSystem may reach
 * a host file outside the bind directory, whether by a symlink swapped in under a remembered
 * name, a symlink in the middle of a path, or a node renamed over.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { wasi } from '@bjorn3/browser_wasi_shim';
import { HostDirFileSystem } from '../../src/fs/host-dir.ts';
import { FsFileFd } from '../../src/runtime/wasi/file-fd.ts';
import { bytes, errno, resolve, text } from './helpers.ts';
import { hostFixture, type HostFixture } from './host-fixture.ts';

let fx: HostFixture;
afterEach(() => fx?.cleanup());

function setup() {
  fx = hostFixture();
  fs.writeFileSync(join(fx.bind, 'b'), 'bee');
  fs.mkdirSync(join(fx.bind, 'd'));
  fs.writeFileSync(join(fx.bind, 'd', 'inner'), 'in');
  return new HostDirFileSystem({ path: fx.bind });
}

const A = { mode: 0o644, uid: 0, gid: 0 };

describe('HostDirFileSystem: no way out of the bind directory', () => {
  it('setattr on a node renamed over by a symlink to a host file reaches neither (High 1)', () => {
    const h = setup();
    const b = resolve(h, 'b'); // the guest's open fd 3
    h.symlink(h.root(), 'a', fx.sentinel, { uid: 0, gid: 0 }); // ln -s <host file> a
    h.rename(h.root(), 'a', h.root(), 'b'); // mv -f a b
    expect(errno(() => h.setattr(b, { mode: 0o777 }))).toBe('ENOENT'); // chmod 777 /proc/self/fd/3
    expect(errno(() => h.setattr(b, { size: 0 }))).toBe('ENOENT');
    expect(errno(() => h.setattr(b, { mtimeMs: 5000, atimeMs: 5000 }))).toBe('ENOENT');
    expect(errno(() => h.setattr(b, { uid: 1234, gid: 1234 }))).toBe('ENOENT');
    expect(errno(() => h.write(b, 0, bytes('pwned')))).toBe('ENOENT');
    expect(fx.changes()).toEqual([]);
    // The new b is the symlink, and it is not followed either.
    expect(h.stat(resolve(h, 'b')).kind).toBe('symlink');
    expect(errno(() => h.setattr(resolve(h, 'b'), { mode: 0o777 }))).toBe('EOPNOTSUPP');
    expect(errno(() => h.setattr(resolve(h, 'b'), { size: 0 }))).toBe('EINVAL');
    expect(fx.changes()).toEqual([]);
  });

  it('setattr and I/O never follow a symlink swapped in by another host process', () => {
    const h = setup();
    const b = resolve(h, 'b');
    fs.unlinkSync(join(fx.bind, 'b'));
    fs.symlinkSync(fx.sentinel, join(fx.bind, 'b'));
    for (const attr of [{ mode: 0o777 }, { size: 1 }, { mtimeMs: 1 }]) expect(errno(() => h.setattr(b, attr))).toBe('ENOENT');
    expect(errno(() => h.read(b, 0, 100))).toBe('ENOENT');
    expect(errno(() => h.stat(b))).toBe('ENOENT');
    expect(fx.changes()).toEqual([]);
  });

  it('refuses to walk through a symlink in the middle of a path (High 2)', () => {
    const h = setup();
    fs.symlinkSync(fx.outside, join(fx.bind, 'out'));
    const out = resolve(h, 'out');
    expect(h.stat(out).kind).toBe('symlink');
    expect(errno(() => h.lookup(out, 'sentinel'))).toBe('ENOTDIR');
    expect(errno(() => h.create(out, 'planted', A))).toBe('ENOTDIR');
    expect(errno(() => h.mkdir(out, 'planted', A))).toBe('ENOTDIR');
    expect(errno(() => h.readdir(out))).toBe('ENOTDIR');
    expect(errno(() => h.unlink(out, 'sentinel'))).toBe('ENOTDIR');
    expect(errno(() => h.rename(out, 'sentinel', h.root(), 'stolen'))).toBe('ENOTDIR');
    expect(errno(() => h.lookup(resolve(h, 'b'), 'x'))).toBe('ENOTDIR');
    expect(fx.changes()).toEqual([]);
  });

  it('a directory swapped for a symlink after it was walked is another file, not a way out', () => {
    const h = setup();
    const d = resolve(h, 'd');
    const inner = resolve(h, 'd/inner');
    fs.renameSync(join(fx.bind, 'd'), join(fx.bind, 'd.old'));
    fs.symlinkSync(join(fx.outside), join(fx.bind, 'd'));
    expect(errno(() => h.lookup(d, 'sentinel'))).toBe('ENOENT');
    expect(errno(() => h.create(d, 'planted', A))).toBe('ENOENT');
    expect(errno(() => h.symlink(d, 'planted', '/', { uid: 0, gid: 0 }))).toBe('ENOENT');
    expect(errno(() => h.unlink(d, 'sentinel'))).toBe('ENOENT');
    expect(errno(() => h.rename(d, 'sentinel', h.root(), 'stolen'))).toBe('ENOENT');
    expect(errno(() => h.link(d, 'planted', resolve(h, 'b')))).toBe('ENOENT');
    expect(errno(() => h.readdir(d))).toBe('ENOENT');
    expect(errno(() => h.setattr(inner, { mode: 0o777 }))).toBe('ENOENT');
    expect(fx.changes()).toEqual([]);
    // Walked again from the root, the names lead where they lead now: the moved directory is found.
    expect(text(h.read(resolve(h, 'd.old/inner'), 0, 10))).toBe('in');
  });

  it('keeps rename and unlink bookkeeping exact: a replaced or unlinked node loses its name', () => {
    const h = setup();
    const b = resolve(h, 'b');
    const d = resolve(h, 'd');
    const inner = resolve(h, 'd/inner');
    h.create(h.root(), 'c', A);
    h.rename(h.root(), 'c', h.root(), 'b'); // c replaces b
    expect(errno(() => h.stat(b))).toBe('ENOENT');
    expect(h.stat(resolve(h, 'b')).size).toBe(0);
    // A node renamed away keeps working under its new name, with its children.
    h.rename(h.root(), 'd', h.root(), 'e');
    expect(h.parent(inner)).toBe(d);
    h.write(inner, 0, bytes('IN'));
    expect(fs.readFileSync(join(fx.bind, 'e', 'inner'), 'utf8')).toBe('IN');
    h.unlink(d, 'inner');
    expect(errno(() => h.setattr(inner, { mode: 0o600 }))).toBe('ENOENT');
    // A hard link keeps the inode; the name unlinked is forgotten, the other still reaches it.
    const f = h.create(d, 'f', A);
    h.link(h.root(), 'g', f);
    h.unlink(d, 'f');
    expect(h.stat(resolve(h, 'g')).nlink).toBe(1);
    expect(resolve(h, 'g')).toBe(f);
    h.setattr(f, { mode: 0o640 });
    expect(fs.statSync(join(fx.bind, 'g')).mode & 0o777).toBe(0o640);
  });

  it("WASI's fd_filestat_set_size and set_times on an fd whose name was replaced reach no host file", () => {
    const h = setup();
    const mount = { path: '/h', fs: h, readOnly: false, dev: 9 };
    const fd = new FsFileFd({ mount, node: resolve(h, 'b'), path: '/h/b' }, { read: true, write: true, append: false });
    h.symlink(h.root(), 'a', fx.sentinel, { uid: 0, gid: 0 });
    h.rename(h.root(), 'a', h.root(), 'b');
    expect(fd.fd_filestat_set_size(0n)).toBe(wasi.ERRNO_NOENT);
    expect(fd.fd_filestat_set_times(1n, 1n, wasi.FSTFLAGS_ATIM | wasi.FSTFLAGS_MTIM)).toBe(wasi.ERRNO_NOENT);
    expect(fd.fd_pwrite(bytes('pwned'), 0n).ret).toBe(wasi.ERRNO_NOENT);
    expect(fx.changes()).toEqual([]);
  });

  it('does setattr on the node itself: mode, size, times, a file with no permissions', () => {
    const h = setup();
    const b = resolve(h, 'b');
    h.setattr(b, { mode: 0 });
    h.setattr(b, { mode: 0o640, size: 2, atimeMs: 4000, mtimeMs: 5000 });
    const st = fs.statSync(join(fx.bind, 'b'));
    expect([st.mode & 0o7777, st.size, st.atimeMs, st.mtimeMs]).toEqual([0o640, 2, 4000, 5000]);
    expect(errno(() => h.setattr(resolve(h, 'd'), { size: 0 }))).toBe('EISDIR');
  });
});
