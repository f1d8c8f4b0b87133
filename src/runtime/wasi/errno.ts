/**
 * Linux errno (what `FileSystem` throws, as `FsError`) to WASI preview1 errno. WASI numbers its
 * errors alphabetically, so the two tables share nothing but the names.
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import { Errno, FsError } from '../../fs/errno.ts';

const BY_LINUX = new Map<number, number>([
  [Errno.EPERM, wasi.ERRNO_PERM],
  [Errno.ENOENT, wasi.ERRNO_NOENT],
  [Errno.EIO, wasi.ERRNO_IO],
  [Errno.ENXIO, wasi.ERRNO_NXIO],
  [Errno.E2BIG, wasi.ERRNO_2BIG],
  [Errno.EBADF, wasi.ERRNO_BADF],
  [Errno.EAGAIN, wasi.ERRNO_AGAIN],
  [Errno.ENOMEM, wasi.ERRNO_NOMEM],
  [Errno.EACCES, wasi.ERRNO_ACCES],
  [Errno.EFAULT, wasi.ERRNO_FAULT],
  [Errno.EBUSY, wasi.ERRNO_BUSY],
  [Errno.EEXIST, wasi.ERRNO_EXIST],
  [Errno.EXDEV, wasi.ERRNO_XDEV],
  [Errno.ENODEV, wasi.ERRNO_NODEV],
  [Errno.ENOTDIR, wasi.ERRNO_NOTDIR],
  [Errno.EISDIR, wasi.ERRNO_ISDIR],
  [Errno.EINVAL, wasi.ERRNO_INVAL],
  [Errno.ENFILE, wasi.ERRNO_NFILE],
  [Errno.EMFILE, wasi.ERRNO_MFILE],
  [Errno.EFBIG, wasi.ERRNO_FBIG],
  [Errno.ENOSPC, wasi.ERRNO_NOSPC],
  [Errno.ESPIPE, wasi.ERRNO_SPIPE],
  [Errno.EROFS, wasi.ERRNO_ROFS],
  [Errno.EMLINK, wasi.ERRNO_MLINK],
  [Errno.ERANGE, wasi.ERRNO_RANGE],
  [Errno.ENAMETOOLONG, wasi.ERRNO_NAMETOOLONG],
  [Errno.ENOSYS, wasi.ERRNO_NOSYS],
  [Errno.ENOTEMPTY, wasi.ERRNO_NOTEMPTY],
  [Errno.ELOOP, wasi.ERRNO_LOOP],
  // WASI has no ENODATA (missing xattr); NOENT is what a caller can act on.
  [Errno.ENODATA, wasi.ERRNO_NOENT],
  [Errno.EPROTO, wasi.ERRNO_PROTO],
  [Errno.EOVERFLOW, wasi.ERRNO_OVERFLOW],
  [Errno.EOPNOTSUPP, wasi.ERRNO_NOTSUP],
]);

/** WASI errno for a Linux errno; unknown values become EIO rather than a wrong specific error. */
export function wasiErrnoFromLinux(linux: number): number {
  return BY_LINUX.get(linux) ?? wasi.ERRNO_IO;
}

/**
 * WASI errno for anything a filesystem call threw. Only `FsError` is expected; anything else is a
 * bug below us, reported once through `onUnexpected` and surfaced to the module as EIO.
 */
export function wasiErrno(err: unknown, onUnexpected?: (err: unknown) => void): number {
  if (err instanceof FsError) return wasiErrnoFromLinux(err.errno);
  if (isErrnoLike(err)) return wasiErrnoFromLinux(err.errno);
  onUnexpected?.(err);
  return wasi.ERRNO_IO;
}

/** An FsError that crossed a worker boundary loses its class but keeps `errno`. */
function isErrnoLike(err: unknown): err is { errno: number } {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'FsError'
    && typeof (err as { errno?: unknown }).errno === 'number';
}
