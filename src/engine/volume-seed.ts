/**
 * Docker fills a new, empty volume with what the image has at its mount point (unless `nocopy`):
 * the copy, file system to file system, keeping modes, owners, mtimes, symlinks and device nodes.
 */
import type { FileSystem, FsNode } from '../fs/types.ts';
import { retryAfterIO } from '../fs/pending-io.ts';

/** Copy the tree at `path` in `from` (if it is a directory) into the root of `to`. */
export async function copyInto(from: FileSystem, path: string, to: FileSystem): Promise<void> {
  let src: FsNode;
  try {
    src = from.root();
    for (const part of path.split('/').filter(Boolean)) src = from.lookup(src, part);
  } catch {
    return; // nothing at the mount point
  }
  if (from.stat(src).kind !== 'directory') return;
  const copy = async (s: FsNode, d: FsNode): Promise<void> => {
    for (const ent of from.readdir(s)) {
      if (ent.name === '.' || ent.name === '..') continue;
      const n = from.lookup(s, ent.name);
      const st = from.stat(n);
      const attr = { mode: st.mode, uid: st.uid, gid: st.gid };
      let made: FsNode;
      if (st.kind === 'directory') {
        made = to.mkdir(d, ent.name, attr);
        await copy(n, made);
      } else if (st.kind === 'symlink') {
        made = to.symlink(d, ent.name, from.readlink(n), { uid: st.uid, gid: st.gid });
        continue;
      } else if (st.kind === 'file') {
        made = to.create(d, ent.name, attr);
        // Image bytes from an async store (IndexedDB) come when they come: each read waits for its own.
        for (let off = 0; off < st.size; off += 1 << 20) to.write(made, off, await retryAfterIO(() => from.read(n, off, Math.min(1 << 20, st.size - off))));
      } else {
        made = to.mknod(d, ent.name, st.kind, st.rdevMajor, st.rdevMinor, attr);
      }
      to.setattr(made, { mtimeMs: st.mtimeMs });
    }
  };
  const rootSt = from.stat(src);
  to.setattr(to.root(), { mode: rootSt.mode, uid: rootSt.uid, gid: rootSt.gid });
  await copy(src, to.root());
}
