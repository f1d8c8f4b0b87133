/**
 * Storage quota for a writable layer (Docker's `--storage-opt size=`): bytes and inodes the
 * container's upper layer may hold. The layer lives in host memory, so without one a `dd` in a
 * container grows the skiff process until it dies.
 *
 * Bytes are the logical sizes of the upper layer's regular files (hard links once, a copied-up
 * file at its whole size, as overlayfs copies it), an upper bound of what their chunks hold;
 * inodes are the upper layer's files, directories, symlinks and devices (whiteouts are free).
 * A change that would pass a limit fails with ENOSPC before it changes anything.
 */
import { fsError } from './errno.ts';
import type { Inode } from './inode.ts';
import type { StatFs } from './types.ts';

export interface QuotaOptions {
  /** Most bytes of file data in the writable layer. */
  bytes?: number;
  /** Most inodes in the writable layer. */
  inodes?: number;
}

const BLOCK = 4096;

export class Quota {
  readonly bytes: number;
  readonly inodes: number;
  usedBytes = 0;
  usedInodes = 0;

  constructor(options: QuotaOptions, upperRoot: Inode) {
    for (const [k, v] of Object.entries(options)) {
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw fsError('EINVAL', `quota ${k} ${String(v)}: a whole number of ${k}`);
    }
    this.bytes = options.bytes ?? Number.MAX_SAFE_INTEGER;
    this.inodes = options.inodes ?? Number.MAX_SAFE_INTEGER;
    // What a restored upper already holds.
    const seen = new Set<Inode>();
    const stack = [upperRoot];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (seen.has(i) || i.kind === 'whiteout') continue;
      seen.add(i);
      if (i.kind === 'file') this.usedBytes += i.size;
      if (i.children) for (const c of i.children.values()) stack.push(c);
    }
    this.usedInodes = seen.size;
  }

  /** Throws ENOSPC unless `bytes` more bytes and `inodes` more inodes fit; then counts them. */
  charge(bytes: number, inodes = 0): void {
    if (bytes > 0 && this.usedBytes + bytes > this.bytes) {
      throw fsError('ENOSPC', `writable layer quota: ${this.usedBytes} + ${bytes} bytes over ${this.bytes}`);
    }
    if (inodes > 0 && this.usedInodes + inodes > this.inodes) {
      throw fsError('ENOSPC', `writable layer quota: ${this.inodes} inodes used`);
    }
    this.usedBytes += bytes;
    this.usedInodes += inodes;
  }

  /** An upper inode went away (its last link), or a file shrank. */
  release(bytes: number, inodes = 0): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
    this.usedInodes = Math.max(0, this.usedInodes - inodes);
  }

  /** statfs as the quota sees it: the limit and what is used, in 4 KiB blocks. */
  statfs(nameMax: number): StatFs {
    const blocks = Math.floor(Math.min(this.bytes, 2 ** 52) / BLOCK);
    const files = Math.min(this.inodes, 2 ** 52);
    return {
      blockSize: BLOCK,
      blocks,
      blocksFree: Math.max(0, blocks - Math.ceil(this.usedBytes / BLOCK)),
      files,
      filesFree: Math.max(0, files - this.usedInodes),
      nameMax,
    };
  }
}
