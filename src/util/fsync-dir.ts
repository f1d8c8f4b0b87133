/**
 * Makes a directory's entries durable: after rename(2), link(2) or unlink(2) the new name is only
 * on disk once the directory itself is fsynced (ext4, xfs and btrfs may otherwise lose the rename
 * on power loss while keeping the file). Node only; platforms that cannot open a directory for
 * fsync (Windows) skip it, as the rename is all they offer.
 */
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EACCES') return;
    throw err;
  }
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems (and Windows) refuse fsync on a directory: nothing more can be done there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await fh.close();
  }
}
