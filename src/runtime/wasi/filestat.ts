/**
 * WASI's `filestat` and time conversions, written by hand: the shim's `Filestat.write_bytes` puts
 * atim/mtim/ctim at offsets 38/46/52 instead of 40/48/56 (fixed upstream, unreleased in 0.4.2).
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import type { FileKind, Stat } from '../../fs/types.ts';

export const FILESTAT_SIZE = 64;

export interface WasiFilestat {
  dev: number;
  ino: number;
  filetype: number;
  nlink: number;
  size: number;
  atimNs: bigint;
  mtimNs: bigint;
  ctimNs: bigint;
}

export function filetypeOf(kind: FileKind): number {
  switch (kind) {
    case 'file': return wasi.FILETYPE_REGULAR_FILE;
    case 'directory': return wasi.FILETYPE_DIRECTORY;
    case 'symlink': return wasi.FILETYPE_SYMBOLIC_LINK;
    case 'chardev': return wasi.FILETYPE_CHARACTER_DEVICE;
    case 'blockdev': return wasi.FILETYPE_BLOCK_DEVICE;
    case 'socket': return wasi.FILETYPE_SOCKET_STREAM;
    case 'fifo': return wasi.FILETYPE_UNKNOWN;
  }
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

export function filestatOf(st: Stat, dev: number): WasiFilestat {
  return {
    dev,
    ino: st.ino,
    filetype: filetypeOf(st.kind),
    nlink: st.nlink,
    size: st.size,
    atimNs: msToNs(st.atimeMs),
    mtimNs: msToNs(st.mtimeMs),
    ctimNs: msToNs(st.ctimeMs),
  };
}

export function writeFilestat(view: DataView, ptr: number, s: WasiFilestat): void {
  view.setBigUint64(ptr, BigInt(s.dev), true);
  view.setBigUint64(ptr + 8, BigInt(s.ino), true);
  view.setUint8(ptr + 16, s.filetype);
  view.setBigUint64(ptr + 24, BigInt(s.nlink), true);
  view.setBigUint64(ptr + 32, BigInt(s.size), true);
  view.setBigUint64(ptr + 40, s.atimNs, true);
  view.setBigUint64(ptr + 48, s.mtimNs, true);
  view.setBigUint64(ptr + 56, s.ctimNs, true);
}

/**
 * The `SetAttr` times for a `fst_flags` request; `now` is shared so atime and mtime set "now"
 * together are equal, as utimensat does.
 */
export function timesFromFlags(atim: bigint, mtim: bigint, fstFlags: number, nowMs: number): { atimeMs?: number; mtimeMs?: number } | null {
  if ((fstFlags & wasi.FSTFLAGS_ATIM) && (fstFlags & wasi.FSTFLAGS_ATIM_NOW)) return null;
  if ((fstFlags & wasi.FSTFLAGS_MTIM) && (fstFlags & wasi.FSTFLAGS_MTIM_NOW)) return null;
  const out: { atimeMs?: number; mtimeMs?: number } = {};
  if (fstFlags & wasi.FSTFLAGS_ATIM) out.atimeMs = nsToMs(atim);
  if (fstFlags & wasi.FSTFLAGS_ATIM_NOW) out.atimeMs = nowMs;
  if (fstFlags & wasi.FSTFLAGS_MTIM) out.mtimeMs = nsToMs(mtim);
  if (fstFlags & wasi.FSTFLAGS_MTIM_NOW) out.mtimeMs = nowMs;
  return out;
}

/** Rights bits we report (we do not enforce rights: preview2 dropped them, wasi-libc ignores them). */
export const RIGHTS = {
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  ALL: (1n << 30n) - 1n,
} as const;

/** `lookupflags::symlink_follow` (the shim does not export it). */
export const LOOKUP_SYMLINK_FOLLOW = 1;
