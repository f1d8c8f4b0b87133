/**
 * openat(2) for Node, which has none: a directory held as an O_PATH descriptor is reached again
 * through its magic link `/proc/self/fd/<fd>`, so `/proc/self/fd/<fd>/<name>` resolves `name` in
 * exactly that directory, whatever was renamed or swapped along the path that first led to it.
 * Walking a bind mount one component at a time this way, with O_NOFOLLOW and a dev+ino check of
 * every step against what was walked before, gives RESOLVE_BENEATH semantics: a symlink in the
 * middle of a path is refused, never followed out of the bind directory.
 *
 * The magic link of an O_PATH descriptor also acts on the node itself for chmod/chown/utimes/
 * truncate/open (for a symlink: on the link, never its target), which is how setattr reaches a
 * node by identity rather than by a name that may have been replaced. Linux only.
 */
import * as fs from 'node:fs';
import { Errno, FsError, fsError, type ErrnoName } from './errno.ts';

/** O_PATH (Linux, every architecture Node ships for): a handle for naming, not for I/O. */
export const O_PATH = 0o10000000;
const { O_NOFOLLOW, O_DIRECTORY } = fs.constants;

/** Throws unless this host can resolve paths by descriptor (Linux with /proc mounted). */
export function checkFdPaths(): void {
  if (process.platform !== 'linux' || !fs.existsSync('/proc/self/fd')) {
    throw fsError('EOPNOTSUPP', 'bind mounts need Linux with /proc mounted (paths are resolved through /proc/self/fd)');
  }
}

/** The magic link of descriptor `fd`, optionally with a name inside it (a directory). */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** Runs a host call, turning Node's errors into the same errno (FsError passes through). */
export function host<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FsError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw fsError(code in Errno ? (code as ErrnoName) : 'EIO', (err as Error).message);
  }
}

/**
 * The identity of a host inode: inode numbers are only unique within one device, and a freed
 * number is soon reused (unlink b, symlink b: same number), so the file type and birth time
 * (statx; 0 where the filesystem has none) are part of it.
 */
export function keyOf(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.mode & fs.constants.S_IFMT}:${realBirthTime() ? st.birthtimeMs : 0}`;
}

let btime: boolean | undefined;
/**
 * Whether Node's birth times come from statx. Where statx is missing (old kernels, seccomp
 * profiles that refuse it) libuv reports ctime as the birth time, which changes with every
 * chmod and would make a node another one. procfs has no birth time: statx reports 0 there.
 */
function realBirthTime(): boolean {
  if (btime === undefined) {
    try {
      btime = fs.statSync('/proc').birthtimeMs === 0;
    } catch {
      btime = false;
    }
  }
  return btime;
}

/** An O_PATH|O_NOFOLLOW handle on `name` inside directory descriptor `dirFd`, with its fstat. */
export function openAt(dirFd: number, name: string): { fd: number; st: fs.Stats } {
  const fd = host(() => fs.openSync(fdPath(dirFd, name), O_PATH | O_NOFOLLOW));
  try {
    return { fd, st: host(() => fs.fstatSync(fd)) };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Opens `path` (the bind directory itself) as an O_PATH directory handle. */
export function openDir(path: string): { fd: number; st: fs.Stats } {
  const fd = host(() => fs.openSync(path, O_PATH | O_DIRECTORY));
  return { fd, st: host(() => fs.fstatSync(fd)) };
}

/**
 * Walks `names` from the directory handle `rootFd` one component at a time. `expect(i, st)` checks
 * the i-th step against what the caller walked before (throwing when it is another inode); every
 * step but the last must be a directory. Returns the last handle (the caller closes it), or a dup
 * of nothing: for an empty walk it returns null and the caller uses `rootFd`.
 */
export function walkBeneath(rootFd: number, names: readonly string[], expect: (i: number, st: fs.Stats) => void): { fd: number; st: fs.Stats } | null {
  let cur: { fd: number; st: fs.Stats } | null = null;
  try {
    for (let i = 0; i < names.length; i++) {
      const next = openAt(cur ? cur.fd : rootFd, names[i]!);
      if (cur) fs.closeSync(cur.fd);
      cur = next;
      expect(i, next.st);
      if (i < names.length - 1 && !next.st.isDirectory()) throw fsError('ENOTDIR', `${names.slice(0, i + 1).join('/')} is not a directory`);
    }
    return cur;
  } catch (err) {
    if (cur) fs.closeSync(cur.fd);
    throw err;
  }
}
