/**
 * Inside filesystems errors are Linux errno values: 9P2000.L's Rlerror carries them as-is and the
 * WASI adapter maps them to WASI's numbering. Only `FsError` is thrown by filesystem operations.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
} as const;
export type ErrnoName = keyof typeof Errno;

export class FsError extends Error {
  override readonly name = 'FsError';
  readonly errno: number;
  readonly code: ErrnoName;
  constructor(code: ErrnoName, message?: string) {
    super(message ? `${code}: ${message}` : code);
    this.code = code;
    this.errno = Errno[code];
  }
}

export function fsError(code: ErrnoName, message?: string): FsError {
  return new FsError(code, message);
}
