/**
 * The FileSystem conformance suite: what every implementation of src/fs/types.ts must do, as
 * Linux does it. Run it against a backend with
 *   fileSystemConformance('my backend', (entries) => makeMyFs(entries));
 * where the factory returns a writable filesystem holding `entries` (tar entries, applied as one
 * layer). Includes random operation sequences checked against a naive reference model.
 */
import { describe, expect, it } from 'vitest';
import type { TarEntry } from '../../src/archive/types.ts';
import { FsError } from '../../src/fs/errno.ts';
import type { FileSystem } from '../../src/fs/types.ts';
import { bytes, dir, dumpFs, errno, file, hardlink, resolve, symlink, text } from './helpers.ts';
import { Model, ModelError } from './model.ts';
import { baseEntries, outcome, randomOp, Rng } from './random-ops.ts';

export type FileSystemFactory = (entries: TarEntry[]) => FileSystem;

/** What a backend cannot do; each case then checks that it refuses as Linux would there. */
export interface ConformanceOptions {
  seeds?: number;
  /** mknod works (false: EPERM, as a bind mount without CAP_MKNOD). */
  mknod?: boolean;
  /** Extended attributes work (false: setxattr is EOPNOTSUPP, nothing is listed). */
  xattrs?: boolean;
  /**
   * A node whose last name is gone stays usable (an in-memory layer), or answers ENOENT (a host
   * directory: no name reaches it any more, and no other file may be reached in its place).
   */
  orphans?: boolean;
  /** Where the escape cases' symlinks point outside the filesystem (a host file for a bind mount). */
  outside?: string;
}

const A = { mode: 0o644, uid: 1, gid: 2 };
const D = { mode: 0o755, uid: 1, gid: 2 };

/** Strips what a backend without xattrs cannot hold, so the model agrees with it. */
function withoutXattrs(entries: TarEntry[]): TarEntry[] {
  return entries.map((e) => (e.header.xattrs ? { ...e, header: { ...e.header, xattrs: undefined } } : e));
}

export function fileSystemConformance(label: string, make: FileSystemFactory, options: ConformanceOptions = {}): void {
  const caps = { mknod: options.mknod ?? true, xattrs: options.xattrs ?? true, orphans: options.orphans ?? true };
  const outside = options.outside ?? '/etc/shadow';
  const starter = () => make([dir('etc/'), file('etc/passwd', 'root:x:0:0', { mode: 0o600 }), dir('var/'), dir('var/empty/'), file('f', 'data'), hardlink('h', 'f'), symlink('s', 'etc')]);

  describe(`FileSystem conformance: ${label}`, () => {
    it('has a root directory that is its own parent', () => {
      const fs = make([]);
      expect(fs.stat(fs.root()).kind).toBe('directory');
      expect(fs.parent(fs.root())).toBe(fs.root());
      const d = fs.mkdir(fs.root(), 'd', D);
      expect(fs.parent(d)).toBe(fs.root());
    });

    it('shows the initial entries', () => {
      const fs = starter();
      expect(text(fs.read(resolve(fs, 'etc/passwd'), 0, 100))).toBe('root:x:0:0');
      expect(fs.stat(resolve(fs, 'etc/passwd')).mode).toBe(0o600);
      expect(fs.readdir(fs.root()).map((e) => e.name).sort()).toEqual(['etc', 'f', 'h', 's', 'var']);
      expect(fs.readlink(resolve(fs, 's'))).toBe('etc');
    });

    it('reads and writes files: offsets, holes, truncation', () => {
      const fs = make([]);
      const f = fs.create(fs.root(), 'x', A);
      expect(fs.stat(f)).toMatchObject({ kind: 'file', size: 0, mode: 0o644, uid: 1, gid: 2, nlink: 1 });
      expect(fs.write(f, 0, bytes('hello'))).toBe(5);
      expect(fs.write(f, 8, bytes('!'))).toBe(1);
      expect(fs.read(f, 0, 100)).toEqual(new Uint8Array([104, 101, 108, 108, 111, 0, 0, 0, 33]));
      expect(fs.read(f, 3, 2)).toEqual(bytes('lo'));
      expect(fs.read(f, 100, 10).length).toBe(0);
      fs.setattr(f, { size: 2 });
      expect(text(fs.read(f, 0, 100))).toBe('he');
      fs.setattr(f, { size: 4 });
      expect(fs.read(f, 0, 100)).toEqual(new Uint8Array([104, 101, 0, 0]));
    });

    it('reports errors as Linux does', () => {
      const fs = starter();
      const root = fs.root();
      const etc = resolve(fs, 'etc');
      const passwd = resolve(fs, 'etc/passwd');
      expect(errno(() => fs.lookup(root, 'missing'))).toBe('ENOENT');
      expect(errno(() => fs.lookup(passwd, 'x'))).toBe('ENOTDIR');
      expect(errno(() => fs.lookup(resolve(fs, 's'), 'passwd'))).toBe('ENOTDIR');
      expect(errno(() => fs.create(root, 'etc', A))).toBe('EEXIST');
      expect(errno(() => fs.mkdir(root, 'f', D))).toBe('EEXIST');
      expect(errno(() => fs.read(etc, 0, 1))).toBe('EISDIR');
      expect(errno(() => fs.write(etc, 0, bytes('x')))).toBe('EISDIR');
      expect(errno(() => fs.unlink(root, 'etc'))).toBe('EISDIR');
      expect(errno(() => fs.unlink(etc, 'passwd', { directory: true }))).toBe('ENOTDIR');
      expect(errno(() => fs.unlink(root, 'etc', { directory: true }))).toBe('ENOTEMPTY');
      expect(errno(() => fs.unlink(root, 'nope'))).toBe('ENOENT');
      expect(errno(() => fs.rename(root, 'nope', root, 'x'))).toBe('ENOENT');
      expect(errno(() => fs.rename(root, 'etc', etc, 'inside'))).toBe('EINVAL');
      expect(errno(() => fs.rename(root, 'f', root, 'var'))).toBe('EISDIR');
      expect(errno(() => fs.rename(root, 'var', root, 'f'))).toBe('ENOTDIR');
      expect(errno(() => fs.rename(root, 'var', root, 'etc'))).toBe('ENOTEMPTY');
      expect(errno(() => fs.link(root, 'l', etc))).toBe('EPERM');
      expect(errno(() => fs.readlink(passwd))).toBe('EINVAL');
      expect(errno(() => fs.getxattr(passwd, 'user.none'))).toBe('ENODATA');
      expect(errno(() => fs.create(root, 'x'.repeat(256), A))).toBe('ENAMETOOLONG');
    });

    it('keeps node identity and inode numbers across lookups and renames', () => {
      const fs = starter();
      const passwd = resolve(fs, 'etc/passwd');
      expect(resolve(fs, 'etc/passwd')).toBe(passwd);
      const ino = fs.stat(passwd).ino;
      fs.rename(resolve(fs, 'etc'), 'passwd', resolve(fs, 'var'), 'pw');
      expect(resolve(fs, 'var/pw')).toBe(passwd);
      expect(fs.stat(passwd).ino).toBe(ino);
      const etc = resolve(fs, 'etc');
      fs.rename(fs.root(), 'etc', resolve(fs, 'var'), 'etc');
      expect(resolve(fs, 'var/etc')).toBe(etc);
      expect(fs.parent(etc)).toBe(resolve(fs, 'var'));
      for (const e of fs.readdir(fs.root())) expect(fs.stat(fs.lookup(fs.root(), e.name)).ino).toBe(e.ino);
      const inos = fs.readdir(fs.root()).map((e) => e.ino);
      expect(new Set(inos).size).toBe(inos.length - 1); // f and h are one inode
    });

    it('rename replaces a file or an empty directory', () => {
      const fs = starter();
      const root = fs.root();
      fs.rename(root, 'f', resolve(fs, 'etc'), 'passwd');
      expect(text(fs.read(resolve(fs, 'etc/passwd'), 0, 10))).toBe('data');
      expect(fs.stat(resolve(fs, 'h')).nlink).toBe(2);
      const d = fs.mkdir(root, 'd', D);
      fs.create(d, 'inside', A);
      fs.rename(root, 'd', resolve(fs, 'var'), 'empty');
      expect(fs.readdir(resolve(fs, 'var/empty')).map((e) => e.name)).toEqual(['inside']);
      expect(errno(() => fs.lookup(root, 'd'))).toBe('ENOENT');
    });

    it('hard links share one inode and count links', () => {
      const fs = starter();
      const f = resolve(fs, 'f');
      expect(resolve(fs, 'h')).toBe(f);
      expect(fs.stat(f).nlink).toBe(2);
      fs.link(resolve(fs, 'var'), 'third', f);
      expect(fs.stat(f).nlink).toBe(3);
      fs.write(resolve(fs, 'var/third'), 0, bytes('DA'));
      expect(text(fs.read(resolve(fs, 'h'), 0, 10))).toBe('DAta');
      fs.unlink(fs.root(), 'f');
      fs.unlink(fs.root(), 'h');
      expect(fs.stat(resolve(fs, 'var/third')).nlink).toBe(1);
    });

    it(caps.orphans ? 'keeps an unlinked file usable through a held node' : 'answers ENOENT for a held node whose name was unlinked', () => {
      const fs = starter();
      const f = resolve(fs, 'etc/passwd');
      fs.unlink(resolve(fs, 'etc'), 'passwd');
      expect(fs.readdir(resolve(fs, 'etc'))).toEqual([]);
      if (!caps.orphans) {
        for (const op of [() => fs.stat(f), () => fs.write(f, 0, bytes('R')), () => fs.setattr(f, { mode: 0o777 })]) expect(errno(op)).toBe('ENOENT');
        return;
      }
      expect(fs.stat(f).nlink).toBe(0);
      fs.write(f, 0, bytes('R'));
      expect(text(fs.read(f, 0, 4))).toBe('Root');
    });

    it('creates symlinks and device nodes', () => {
      const fs = make([]);
      const l = fs.symlink(fs.root(), 'l', '../target', { uid: 1, gid: 2 });
      expect(fs.stat(l)).toMatchObject({ kind: 'symlink', size: 9, uid: 1 });
      expect(fs.readlink(l)).toBe('../target');
      if (!caps.mknod) {
        expect(errno(() => fs.mknod(fs.root(), 'p', 'fifo', 0, 0, A))).toBe('EPERM');
        return;
      }
      const c = fs.mknod(fs.root(), 'null', 'chardev', 1, 3, { mode: 0o666, uid: 0, gid: 0 });
      expect(fs.stat(c)).toMatchObject({ kind: 'chardev', rdevMajor: 1, rdevMinor: 3, mode: 0o666 });
      expect(fs.stat(fs.mknod(fs.root(), 'p', 'fifo', 0, 0, A)).kind).toBe('fifo');
    });

    it('stores xattrs with create/replace flags', () => {
      const fs = starter();
      const p = resolve(fs, 'etc/passwd');
      if (!caps.xattrs) {
        expect(errno(() => fs.setxattr(p, 'user.k', bytes('v')))).toBe('EOPNOTSUPP');
        expect(fs.listxattr(p)).toEqual([]);
        return;
      }
      fs.setxattr(p, 'user.k', bytes('v'));
      expect(errno(() => fs.setxattr(p, 'user.k', bytes('w'), { create: true }))).toBe('EEXIST');
      expect(errno(() => fs.setxattr(p, 'user.n', bytes('w'), { replace: true }))).toBe('ENODATA');
      fs.setxattr(p, 'user.k', bytes('w'), { replace: true });
      expect(text(fs.getxattr(p, 'user.k'))).toBe('w');
      expect(fs.listxattr(p)).toEqual(['user.k']);
      fs.removexattr(p, 'user.k');
      expect(fs.listxattr(p)).toEqual([]);
      expect(errno(() => fs.removexattr(p, 'user.k'))).toBe('ENODATA');
    });

    it('moves times and versions as POSIX says', () => {
      const fs = starter();
      const etc = resolve(fs, 'etc');
      const p = resolve(fs, 'etc/passwd');
      const s0 = fs.stat(p);
      const d0 = fs.stat(etc);
      fs.write(p, 0, bytes('x'));
      const s1 = fs.stat(p);
      expect(s1.mtimeMs).toBeGreaterThanOrEqual(s0.mtimeMs);
      expect(s1.ctimeMs).toBeGreaterThanOrEqual(s0.ctimeMs);
      expect(s1.version).not.toBe(s0.version);
      fs.setattr(p, { mtimeMs: 5000, atimeMs: 4000 });
      expect(fs.stat(p)).toMatchObject({ mtimeMs: 5000, atimeMs: 4000 });
      fs.create(etc, 'new', A);
      const d1 = fs.stat(etc);
      expect(d1.mtimeMs).toBeGreaterThanOrEqual(d0.mtimeMs);
      expect(d1.version).not.toBe(d0.version);
      const st = fs.statfs();
      expect(st.nameMax).toBe(255);
      expect(st.blockSize).toBeGreaterThan(0);
    });

    // Issue 10 High 1 and 2: what a bind mount let a container do to the host, as cases every
    // backend must pass. The symlinks point inside (etc/passwd) and outside (options.outside).
    for (const target of ['etc/passwd', '../etc/passwd', outside]) {
      it(`setattr and writes on a node renamed over by a symlink (-> ${target}) reach neither the link nor its target`, () => {
        const fs = starter();
        const root = fs.root();
        const victim = fs.create(root, 'victim', A); // a guest's open fd
        fs.write(victim, 0, bytes('v'));
        fs.symlink(root, 'a', target, { uid: 1, gid: 2 }); // ln -s target a
        fs.rename(root, 'a', root, 'victim'); // mv -f a victim
        const allowed = caps.orphans ? ['ok'] : ['ENOENT'];
        for (const attr of [{ mode: 0o777 }, { size: 0 }, { size: 5000 }, { atimeMs: 7000, mtimeMs: 7000 }, { uid: 77, gid: 77 }]) {
          expect(allowed).toContain(errno(() => fs.setattr(victim, attr)));
        }
        expect(allowed).toContain(errno(() => fs.write(victim, 0, bytes('pwned'))));
        const link = resolve(fs, 'victim');
        expect(fs.stat(link)).toMatchObject({ kind: 'symlink', uid: 1, gid: 2 });
        expect(fs.readlink(link)).toBe(target);
        expect(fs.stat(resolve(fs, 'etc/passwd'))).toMatchObject({ mode: 0o600, size: 10, uid: 0 });
        expect(text(fs.read(resolve(fs, 'etc/passwd'), 0, 100))).toBe('root:x:0:0');
        // The link itself has no mode or size to set.
        expect(errno(() => fs.setattr(link, { mode: 0o777 }))).toBe('EOPNOTSUPP');
        expect(errno(() => fs.setattr(link, { size: 0 }))).toBe('EINVAL');
        expect(errno(() => fs.write(link, 0, bytes('x')))).toBe('EINVAL');
      });
    }

    it('times set on a symlink change the link, never what it points to (inside or outside)', () => {
      const fs = starter();
      const root = fs.root();
      const before = fs.stat(resolve(fs, 'etc/passwd')).mtimeMs;
      for (const [name, target] of [['in', 'etc/passwd'], ['up', '../etc/passwd'], ['out', outside], ['dir', 'etc']]) {
        fs.symlink(root, name!, target!, { uid: 1, gid: 2 });
        fs.setattr(resolve(fs, name!), { atimeMs: 7000, mtimeMs: 7000 });
        expect(fs.stat(resolve(fs, name!)).mtimeMs).toBe(7000);
      }
      expect(fs.stat(resolve(fs, 'etc/passwd')).mtimeMs).toBe(before);
      expect(fs.stat(resolve(fs, 'etc')).mtimeMs).not.toBe(7000);
    });

    it('never looks through a symlink or a file: every directory operation on one is ENOTDIR', () => {
      const fs = starter();
      const root = fs.root();
      fs.symlink(root, 'out', outside.replace(/\/[^/]*$/, '') || '/', { uid: 1, gid: 2 });
      for (const p of ['s', 'out', 'f']) {
        const n = resolve(fs, p);
        const f = resolve(fs, 'f');
        const cases: [string, () => unknown][] = [
          ['lookup', () => fs.lookup(n, 'passwd')], ['readdir', () => fs.readdir(n)], ['create', () => fs.create(n, 'x', A)],
          ['mkdir', () => fs.mkdir(n, 'x', D)], ['symlink', () => fs.symlink(n, 'x', '/', { uid: 1, gid: 2 })],
          ['unlink', () => fs.unlink(n, 'passwd')], ['rmdir', () => fs.unlink(n, 'x', { directory: true })],
          ['rename from', () => fs.rename(n, 'passwd', root, 'stolen')], ['rename into', () => fs.rename(root, 'h', n, 'x')],
          ['link into', () => fs.link(n, 'x', f)],
        ];
        for (const [what, op] of cases) expect(`${p} ${what} ${errno(op)}`).toBe(`${p} ${what} ENOTDIR`);
      }
      expect(text(fs.read(resolve(fs, 'etc/passwd'), 0, 100))).toBe('root:x:0:0');
      expect(fs.readdir(resolve(fs, 'etc')).map((e) => e.name)).toEqual(['passwd']);
      expect(fs.readdir(root).map((e) => e.name).sort()).toEqual(['etc', 'f', 'h', 'out', 's', 'var']);
    });

    it('keeps names exact across rename and unlink: no node reaches a file that took its name', () => {
      const fs = starter();
      const root = fs.root();
      const a = fs.create(root, 'a1', A);
      const b = fs.create(root, 'b1', A);
      fs.rename(root, 'a1', root, 'b1');
      expect(resolve(fs, 'b1')).toBe(a);
      if (caps.orphans) expect(fs.stat(b).nlink).toBe(0);
      else expect(errno(() => fs.stat(b))).toBe('ENOENT');
      fs.setattr(a, { mode: 0o640 });
      expect(fs.stat(resolve(fs, 'b1')).mode).toBe(0o640);
      // A directory moved keeps its children reachable through held nodes, under the new parent.
      const d = fs.mkdir(root, 'd1', D);
      const inner = fs.create(d, 'in', A);
      fs.rename(root, 'd1', resolve(fs, 'var'), 'd2');
      fs.write(inner, 0, bytes('x'));
      expect(text(fs.read(resolve(fs, 'var/d2/in'), 0, 10))).toBe('x');
      expect(fs.parent(d)).toBe(resolve(fs, 'var'));
      // Unlinked, then the name reused: the old node never writes into the new file.
      const u = fs.create(root, 'u', A);
      fs.unlink(root, 'u');
      const u2 = fs.create(root, 'u', A);
      fs.write(u2, 0, bytes('new'));
      expect(caps.orphans ? ['ok'] : ['ENOENT']).toContain(errno(() => fs.setattr(u, { size: 0, mode: 0o777 })));
      expect(text(fs.read(u2, 0, 10))).toBe('new');
      expect(fs.stat(u2).mode).toBe(0o644);
      // Two names of one inode: renaming one over the other changes nothing.
      fs.rename(root, 'f', root, 'h');
      expect(fs.stat(resolve(fs, 'h')).nlink).toBe(2);
      expect(resolve(fs, 'f')).toBe(resolve(fs, 'h'));
    });

    for (let seed = 1; seed <= (options.seeds ?? 30); seed++) {
      it(`matches the reference model under random operations, seed ${seed}`, () => {
        const entries = caps.xattrs ? baseEntries() : withoutXattrs(baseEntries());
        const fs = make(entries);
        const m = new Model();
        m.applyLayer(entries);
        expect(dumpFs(fs)).toEqual(m.dump());
        const r = new Rng(seed * 31337);
        const log: string[] = [];
        for (let step = 0; step < 120; step++) {
          const op = randomOp(r, m);
          if (!caps.xattrs && op.spec.op === 'xattr') continue;
          const want = outcome(() => op.model(m), ModelError);
          const got = outcome(() => op.fs(fs), FsError);
          log.push(`${op.text} => ${want}`);
          if (got !== want) throw new Error(`${op.text}: filesystem ${got}, model ${want}\n${log.slice(-20).join('\n')}`);
        }
        expect(dumpFs(fs)).toEqual(m.dump());
      });
    }
  });
}
