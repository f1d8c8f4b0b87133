/**
 * The mount points a spec needs in the container root, as a layer to put between the image and
 * the container's writable layer (Docker's "init layer"). Without it crun creates them itself,
 * inside the writable layer, and `skiff diff` / `export` would show /etc/hosts, /proc, volume
 * targets ... as the container's own changes. Only what the image lacks is listed; paths inside
 * another mount (/dev/pts in the /dev tmpfs) are left to crun, and nothing existing is touched.
 */
import type { TarEntry } from '../../archive/types.ts';
import { FsError } from '../../fs/errno.ts';
import type { FileSystem } from '../../fs/types.ts';
import { INIT_DESTINATION } from './init.ts';
import type { RuntimeSpec } from './types.ts';
import { resolvePath } from './users.ts';
import { cleanPath } from './volumes.ts';

/** Bind mounts of files, not directories: the generated /etc files and the init binary. */
const FILE_TARGETS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', INIT_DESTINATION]);

function exists(fs: FileSystem, path: string): boolean {
  try {
    resolvePath(fs, path);
    return true;
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return false;
    throw err;
  }
}

function entry(path: string, kind: 'directory' | 'file', mtime: number): TarEntry {
  return {
    header: {
      name: kind === 'directory' ? `${path.slice(1)}/` : path.slice(1),
      type: kind,
      mode: kind === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime,
      linkname: '',
      devmajor: 0,
      devminor: 0,
    },
    data: new Uint8Array(0),
  };
}

export interface MountpointOptions {
  spec: RuntimeSpec;
  /** The image's merged layers (what the container would see before any write). */
  rootfs: FileSystem;
  /** Destinations that are files although not in the built-in list (host file binds). */
  fileTargets?: Iterable<string>;
  /** Seconds since the epoch for the entries' mtime; default now. */
  mtime?: number;
}

/** Tar entries (parents first) creating every missing mount point of `spec` in `rootfs`. */
export function mountpointEntries(o: MountpointOptions): TarEntry[] {
  const files = new Set([...FILE_TARGETS, ...[...(o.fileTargets ?? [])].map(cleanPath)]);
  const mtime = o.mtime ?? Math.floor(Date.now() / 1000);
  const mounted: string[] = [];
  const created = new Set<string>();
  const out: TarEntry[] = [];
  for (const m of o.spec.mounts) {
    const dest = cleanPath(m.destination);
    const insideMount = mounted.some((p) => dest.startsWith(p === '/' ? '/' : `${p}/`));
    mounted.push(dest);
    if (insideMount || dest === '/') continue;
    const parts = dest.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const path = '/' + parts.slice(0, i).join('/');
      if (created.has(path)) continue;
      if (exists(o.rootfs, path)) continue;
      const kind = i === parts.length && files.has(path) ? 'file' : 'directory';
      out.push(entry(path, kind, mtime));
      created.add(path);
    }
  }
  return out;
}
