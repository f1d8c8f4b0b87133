/**
 * Mapping between the filesystem's Stat/SetAttr and 9P2000.L's qid, Rgetattr and Tsetattr.
 */
import { fsError } from '../fs/errno.ts';
import type { FileKind, SetAttr, Stat } from '../fs/types.ts';
import {
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
} from '../fs/types.ts';
import {
  DirentType, GetattrMask, QidType, SetattrMask, type Qid, type Rgetattr, type Tsetattr,
} from './messages.ts';

const TYPE_BITS: Record<FileKind, number> = {
  file: S_IFREG, directory: S_IFDIR, symlink: S_IFLNK, chardev: S_IFCHR,
  blockdev: S_IFBLK, fifo: S_IFIFO, socket: S_IFSOCK,
};

const DIRENT_TYPES: Record<FileKind, number> = {
  file: DirentType.REG, directory: DirentType.DIR, symlink: DirentType.LNK, chardev: DirentType.CHR,
  blockdev: DirentType.BLK, fifo: DirentType.FIFO, socket: DirentType.SOCK,
};

export function modeTypeBits(kind: FileKind): number {
  return TYPE_BITS[kind];
}

export function direntType(kind: FileKind): number {
  return DIRENT_TYPES[kind];
}

export function qidType(kind: FileKind): number {
  return kind === 'directory' ? QidType.DIR : kind === 'symlink' ? QidType.SYMLINK : QidType.FILE;
}

const TWO_32 = 0x1_0000_0000;

const TWO_31 = 0x8000_0000;

/**
 * qid.path is unique across exports (they share one guest mount and its inode cache): the
 * export's serial in the high 32 bits, the inode in the low 31, and bit 31 set. That bit is for
 * 32-bit guests, whose v9fs folds a qid into st_ino as `(path + 2) ^ ((path + 2) >> 32)`
 * (v9fs_qid2ino): with bit 31 set the fold is never 0, and glibc's readdir skips entries whose
 * d_ino is 0, so a file whose fold came out 0 would vanish from listings.
 */
export function qidOf(st: Pick<Stat, 'kind' | 'ino' | 'version'>, serial: number): Qid {
  return { type: qidType(st.kind), version: st.version >>> 0, path: serial * TWO_32 + TWO_31 + (st.ino % TWO_31) };
}

/** Linux new_encode_dev(): what the v9fs client's new_decode_dev() reads back from st_rdev. */
export function encodeRdev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 + Math.floor((minor >>> 8) & 0xfff) * 0x100000;
}

function splitTime(ms: number): [sec: number, nsec: number] {
  if (!(ms > 0)) return [0, 0];
  ms = Math.min(ms, MAX_TIME_MS);
  const sec = Math.floor(ms / 1000);
  const nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
  return [sec, nsec];
}

/** Latest time JS Dates (and so the filesystem) represent; later times clamp to it, as Linux clamps to a filesystem's range. */
const MAX_TIME_MS = 8.64e15;

export function joinTime(sec: number, nsec: number): number {
  if (nsec >= 1e9) throw fsError('EINVAL', `nanoseconds ${nsec} out of range`);
  return Math.min(MAX_TIME_MS, sec * 1000 + nsec / 1e6);
}

export function getattrReply(tag: number, st: Stat, serial: number): Rgetattr {
  const [atimeSec, atimeNsec] = splitTime(st.atimeMs);
  const [mtimeSec, mtimeNsec] = splitTime(st.mtimeMs);
  const [ctimeSec, ctimeNsec] = splitTime(st.ctimeMs);
  return {
    type: 'Rgetattr', tag,
    valid: GetattrMask.BASIC,
    qid: qidOf(st, serial),
    mode: (modeTypeBits(st.kind) | (st.mode & 0o7777)) >>> 0,
    uid: st.uid >>> 0,
    gid: st.gid >>> 0,
    nlink: st.nlink,
    rdev: st.kind === 'chardev' || st.kind === 'blockdev' ? encodeRdev(st.rdevMajor, st.rdevMinor) : 0,
    size: st.size,
    blksize: 4096,
    blocks: Math.ceil(st.size / 512),
    atimeSec, atimeNsec, mtimeSec, mtimeNsec, ctimeSec, ctimeNsec,
    btimeSec: 0, btimeNsec: 0, gen: 0, dataVersion: 0,
  };
}

/**
 * Tsetattr -> SetAttr. A time bit without its _SET bit means "now" on the server; CTIME alone
 * asks for a ctime update (chmod/chown do that anyway).
 */
export function setattrFrom(msg: Tsetattr, nowMs: number): SetAttr {
  const attr: SetAttr = {};
  const v = msg.valid;
  if (v & SetattrMask.MODE) attr.mode = msg.mode & 0o7777;
  if (v & SetattrMask.UID) attr.uid = msg.uid;
  if (v & SetattrMask.GID) attr.gid = msg.gid;
  if (v & SetattrMask.SIZE) attr.size = msg.size;
  if (v & SetattrMask.ATIME) attr.atimeMs = v & SetattrMask.ATIME_SET ? joinTime(msg.atimeSec, msg.atimeNsec) : nowMs;
  if (v & SetattrMask.MTIME) attr.mtimeMs = v & SetattrMask.MTIME_SET ? joinTime(msg.mtimeSec, msg.mtimeNsec) : nowMs;
  if (v & SetattrMask.CTIME) attr.ctimeMs = nowMs;
  return attr;
}
