/**
 * Docker fills a new, empty volume with what the image has at its mount point (unless `nocopy`):
 * the copy, file system to file system, keeping modes, owners, mtimes, symlinks and device nodes.
 */
import type { FileSystem, FsNode } from '../fs/types.ts';

/** Copy the tree at `path` in `from` (if it is a directory) into the root of `to`. */
export function copyInto(from: FileSystem, path: string, to: FileSystem): void {
  let src: FsNode;
  try {
    src = from.root();
    for (const part of path.split('/').filter(Boolean)) src = from.lookup(src, part);
  } catch {
    return; // nothing at the mount point
  }
  if (from.stat(src).kind !== 'directory') return;
  const copy = (s: FsNode, d: FsNode): void => {
    for (const ent of from.readdir(s)) {
      if (ent.name === '.' || ent.name === '..') continue;
      const n = from.lookup(s, ent.name);
      const st = from.stat(n);
      const attr = { mode: st.mode, uid: st.uid, gid: st.gid };
      let made: FsNode;
      if (st.kind === 'directory') {
        made = to.mkdir(d, ent.name, attr);
        copy(n, made);
      } else if (st.kind === 'symlink') {
        made = to.symlink(d, ent.name, from.readlink(n), { uid: st.uid, gid: st.gid });
        continue;
      } else if (st.kind === 'file') {
        made = to.create(d, ent.name, attr);
        for (let off = 0; off < st.size; off += 1 << 20) to.write(made, off, from.read(n, off, Math.min(1 << 20, st.size - off)));
      } else {
        made = to.mknod(d, ent.name, st.kind, st.rdevMajor, st.rdevMinor, attr);
      }
      to.setattr(made, { mtimeMs: st.mtimeMs });
    }
  };
  const rootSt = from.stat(src);
  to.setattr(to.root(), { mode: rootSt.mode, uid: rootSt.uid, gid: rootSt.gid });
  copy(src, to.root());
}
