/**
 * The conformance cases for a read-only FileSystem (the 9P directory of exports, a read-only
 * overlay): the root is a directory that is its own parent, unknown names are ENOENT, and every
 * change is EROFS without changing anything.
 */
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/fs/types.ts';
import { bytes, errno } from './helpers.ts';

export function readOnlyConformance(label: string, make: () => FileSystem, options: { names: string[] }): void {
  describe(`FileSystem conformance (read-only): ${label}`, () => {
    it('has a root directory that is its own parent, listing exactly its names', () => {
      const fs = make();
      expect(fs.readOnly).toBe(true);
      const root = fs.root();
      expect(fs.stat(root)).toMatchObject({ kind: 'directory' });
      expect(fs.parent(root)).toBe(root);
      expect(fs.readdir(root).map((e) => e.name).sort()).toEqual([...options.names].sort());
      expect(errno(() => fs.lookup(root, 'missing'))).toBe('ENOENT');
      expect(errno(() => fs.read(root, 0, 1))).toBe('EISDIR');
      expect(errno(() => fs.readlink(root))).toBe('EINVAL');
      expect(fs.listxattr(root)).toEqual([]);
      expect(errno(() => fs.getxattr(root, 'user.x'))).toBe('ENODATA');
      const st = fs.statfs();
      expect(st.nameMax).toBe(255);
      expect(st.blockSize).toBeGreaterThan(0);
    });

    it('refuses every change with EROFS and changes nothing', () => {
      const fs = make();
      const root = fs.root();
      const before = JSON.stringify([fs.stat(root), fs.readdir(root)]);
      const A = { mode: 0o644, uid: 0, gid: 0 };
      const cases: [string, () => unknown][] = [
        ['setattr', () => fs.setattr(root, { mode: 0o777 })],
        ['create', () => fs.create(root, 'x', A)], ['mkdir', () => fs.mkdir(root, 'x', A)],
        ['mknod', () => fs.mknod(root, 'x', 'fifo', 0, 0, A)], ['symlink', () => fs.symlink(root, 'x', '/', A)],
        ['link', () => fs.link(root, 'x', root)], ['unlink', () => fs.unlink(root, 'x')],
        ['rename', () => fs.rename(root, 'x', root, 'y')], ['setxattr', () => fs.setxattr(root, 'user.x', bytes('v'))],
        ['removexattr', () => fs.removexattr(root, 'user.x')],
      ];
      for (const [what, op] of cases) expect(`${what} ${errno(op)}`).toBe(`${what} EROFS`);
      expect(['EROFS', 'EISDIR']).toContain(errno(() => fs.write(root, 0, bytes('x')))); // a directory, whatever the mount
      expect(JSON.stringify([fs.stat(root), fs.readdir(root)])).toBe(before);
    });
  });
}
