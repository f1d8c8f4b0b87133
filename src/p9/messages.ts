/**
 * 9P2000.L wire types: message names and field names follow the protocol text (diod's
 * protocol.md, Linux include/net/9p/9p.h), so code greps against the spec. Only types and
 * constants live here; the byte layout is in codec.ts.
 *
 * 64-bit fields are JS numbers: the codec refuses values above 2^53-1 (EOVERFLOW) rather than
 * silently rounding them.
 */

/** Message type codes, from Linux `enum p9_msg_t`. */
export const MessageCode = {
  Tlerror: 6, Rlerror: 7,
  Tstatfs: 8, Rstatfs: 9,
  Tlopen: 12, Rlopen: 13,
  Tlcreate: 14, Rlcreate: 15,
  Tsymlink: 16, Rsymlink: 17,
  Tmknod: 18, Rmknod: 19,
  Trename: 20, Rrename: 21,
  Treadlink: 22, Rreadlink: 23,
  Tgetattr: 24, Rgetattr: 25,
  Tsetattr: 26, Rsetattr: 27,
  Txattrwalk: 30, Rxattrwalk: 31,
  Txattrcreate: 32, Rxattrcreate: 33,
  Treaddir: 40, Rreaddir: 41,
  Tfsync: 50, Rfsync: 51,
  Tlock: 52, Rlock: 53,
  Tgetlock: 54, Rgetlock: 55,
  Tlink: 70, Rlink: 71,
  Tmkdir: 72, Rmkdir: 73,
  Trenameat: 74, Rrenameat: 75,
  Tunlinkat: 76, Runlinkat: 77,
  Tversion: 100, Rversion: 101,
  Tauth: 102, Rauth: 103,
  Tattach: 104, Rattach: 105,
  Tflush: 108, Rflush: 109,
  Twalk: 110, Rwalk: 111,
  Tread: 116, Rread: 117,
  Twrite: 118, Rwrite: 119,
  Tclunk: 120, Rclunk: 121,
  Tremove: 122, Rremove: 123,
} as const;
export type MessageName = keyof typeof MessageCode;

/** size[4] type[1] tag[2] */
export const HEADER_SIZE = 7;
/** Header plus the count[4] of Rread/Rreaddir: the payload of a reply is at most msize - 11. */
export const IO_HEADER_SIZE = 11;
export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
export const NONUNAME = 0xffffffff;
/** Linux's P9_MAXWELEM: a Twalk carries at most 16 names. */
export const MAXWELEM = 16;
export const VERSION_9P2000_L = '9P2000.L';

/** qid.type bits (the high byte of a Plan 9 mode). */
export const QidType = {
  DIR: 0x80, APPEND: 0x40, EXCL: 0x20, MOUNT: 0x10, AUTH: 0x08, TMP: 0x04, SYMLINK: 0x02, LINK: 0x01, FILE: 0,
} as const;

/**
 * Set in an Rgetattr's qid.type: the guest may keep this file's attributes and its name (and
 * names found missing in this directory) until told otherwise. Skiff's guest kernel reads it
 * (vm-images/kernel/skiff-9p-cache.patch); 9P calls the bit QTTMP, which Linux v9fs ignores.
 */
export const QID_CACHEABLE = QidType.TMP;

export const GetattrMask = {
  MODE: 0x1, NLINK: 0x2, UID: 0x4, GID: 0x8, RDEV: 0x10, ATIME: 0x20, MTIME: 0x40, CTIME: 0x80,
  INO: 0x100, SIZE: 0x200, BLOCKS: 0x400, BTIME: 0x800, GEN: 0x1000, DATA_VERSION: 0x2000,
  BASIC: 0x7ff, ALL: 0x3fff,
} as const;

export const SetattrMask = {
  MODE: 0x1, UID: 0x2, GID: 0x4, SIZE: 0x8, ATIME: 0x10, MTIME: 0x20, CTIME: 0x40,
  ATIME_SET: 0x80, MTIME_SET: 0x100,
} as const;

/** Linux open(2) flags as 9P2000.L carries them (P9_DOTL_*, equal to the generic Linux values). */
export const OpenFlags = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, NOACCESS: 3, ACCMODE: 3,
  CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000, APPEND: 0o2000, NONBLOCK: 0o4000,
  DSYNC: 0o10000, FASYNC: 0o20000, DIRECT: 0o40000, LARGEFILE: 0o100000, DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000, NOATIME: 0o1000000, CLOEXEC: 0o2000000, SYNC: 0o4000000,
} as const;

export const AT_REMOVEDIR = 0x200;
export const XattrFlags = { CREATE: 1, REPLACE: 2 } as const;
export const LockType = { RDLCK: 0, WRLCK: 1, UNLCK: 2 } as const;
export const LockFlags = { BLOCK: 1, RECLAIM: 2 } as const;
export const LockStatus = { SUCCESS: 0, BLOCKED: 1, ERROR: 2, GRACE: 3 } as const;
/** d_type values in Rreaddir entries. */
export const DirentType = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;
/** f_type in Rstatfs: V9FS_MAGIC. */
export const V9FS_MAGIC = 0x01021997;

export interface Qid {
  type: number;
  version: number;
  path: number;
}

interface Base<N extends MessageName> {
  type: N;
  tag: number;
}

export interface Rlerror extends Base<'Rlerror'> { ecode: number }
export interface Tstatfs extends Base<'Tstatfs'> { fid: number }
export interface Rstatfs extends Base<'Rstatfs'> {
  fsType: number; bsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; fsid: number; namelen: number;
}
export interface Tlopen extends Base<'Tlopen'> { fid: number; flags: number }
export interface Rlopen extends Base<'Rlopen'> { qid: Qid; iounit: number }
export interface Tlcreate extends Base<'Tlcreate'> { fid: number; name: string; flags: number; mode: number; gid: number }
export interface Rlcreate extends Base<'Rlcreate'> { qid: Qid; iounit: number }
export interface Tsymlink extends Base<'Tsymlink'> { fid: number; name: string; symtgt: string; gid: number }
export interface Rsymlink extends Base<'Rsymlink'> { qid: Qid }
export interface Tmknod extends Base<'Tmknod'> { dfid: number; name: string; mode: number; major: number; minor: number; gid: number }
export interface Rmknod extends Base<'Rmknod'> { qid: Qid }
export interface Trename extends Base<'Trename'> { fid: number; dfid: number; name: string }
export interface Rrename extends Base<'Rrename'> {}
export interface Treadlink extends Base<'Treadlink'> { fid: number }
export interface Rreadlink extends Base<'Rreadlink'> { target: string }
export interface Tgetattr extends Base<'Tgetattr'> { fid: number; requestMask: number }
export interface Rgetattr extends Base<'Rgetattr'> {
  valid: number; qid: Qid; mode: number; uid: number; gid: number; nlink: number; rdev: number;
  size: number; blksize: number; blocks: number;
  atimeSec: number; atimeNsec: number; mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number; btimeSec: number; btimeNsec: number;
  gen: number; dataVersion: number;
}
export interface Tsetattr extends Base<'Tsetattr'> {
  fid: number; valid: number; mode: number; uid: number; gid: number; size: number;
  atimeSec: number; atimeNsec: number; mtimeSec: number; mtimeNsec: number;
}
export interface Rsetattr extends Base<'Rsetattr'> {}
export interface Txattrwalk extends Base<'Txattrwalk'> { fid: number; newfid: number; name: string }
export interface Rxattrwalk extends Base<'Rxattrwalk'> { size: number }
export interface Txattrcreate extends Base<'Txattrcreate'> { fid: number; name: string; attrSize: number; flags: number }
export interface Rxattrcreate extends Base<'Rxattrcreate'> {}
export interface Treaddir extends Base<'Treaddir'> { fid: number; offset: number; count: number }
/** `data` is the packed dirents (see codec.ts encodeDirents/decodeDirents). */
export interface Rreaddir extends Base<'Rreaddir'> { data: Uint8Array }
export interface Tfsync extends Base<'Tfsync'> { fid: number; datasync: number }
export interface Rfsync extends Base<'Rfsync'> {}
export interface Tlock extends Base<'Tlock'> {
  fid: number; lockType: number; flags: number; start: number; length: number; procId: number; clientId: string;
}
export interface Rlock extends Base<'Rlock'> { status: number }
export interface Tgetlock extends Base<'Tgetlock'> {
  fid: number; lockType: number; start: number; length: number; procId: number; clientId: string;
}
export interface Rgetlock extends Base<'Rgetlock'> {
  lockType: number; start: number; length: number; procId: number; clientId: string;
}
export interface Tlink extends Base<'Tlink'> { dfid: number; fid: number; name: string }
export interface Rlink extends Base<'Rlink'> {}
export interface Tmkdir extends Base<'Tmkdir'> { dfid: number; name: string; mode: number; gid: number }
export interface Rmkdir extends Base<'Rmkdir'> { qid: Qid }
export interface Trenameat extends Base<'Trenameat'> { olddirfid: number; oldname: string; newdirfid: number; newname: string }
export interface Rrenameat extends Base<'Rrenameat'> {}
export interface Tunlinkat extends Base<'Tunlinkat'> { dirfid: number; name: string; flags: number }
export interface Runlinkat extends Base<'Runlinkat'> {}
export interface Tversion extends Base<'Tversion'> { msize: number; version: string }
export interface Rversion extends Base<'Rversion'> { msize: number; version: string }
export interface Tauth extends Base<'Tauth'> { afid: number; uname: string; aname: string; nUname: number }
export interface Rauth extends Base<'Rauth'> { aqid: Qid }
export interface Tattach extends Base<'Tattach'> { fid: number; afid: number; uname: string; aname: string; nUname: number }
export interface Rattach extends Base<'Rattach'> { qid: Qid }
export interface Tflush extends Base<'Tflush'> { oldtag: number }
export interface Rflush extends Base<'Rflush'> {}
export interface Twalk extends Base<'Twalk'> { fid: number; newfid: number; wnames: string[] }
export interface Rwalk extends Base<'Rwalk'> { wqids: Qid[] }
export interface Tread extends Base<'Tread'> { fid: number; offset: number; count: number }
/** On decode `data` is a view into the input buffer (no copy). */
export interface Rread extends Base<'Rread'> { data: Uint8Array }
export interface Twrite extends Base<'Twrite'> { fid: number; offset: number; data: Uint8Array }
export interface Rwrite extends Base<'Rwrite'> { count: number }
export interface Tclunk extends Base<'Tclunk'> { fid: number }
export interface Rclunk extends Base<'Rclunk'> {}
export interface Tremove extends Base<'Tremove'> { fid: number }
export interface Rremove extends Base<'Rremove'> {}

export type TMessage =
  | Tstatfs | Tlopen | Tlcreate | Tsymlink | Tmknod | Trename | Treadlink | Tgetattr | Tsetattr
  | Txattrwalk | Txattrcreate | Treaddir | Tfsync | Tlock | Tgetlock | Tlink | Tmkdir | Trenameat
  | Tunlinkat | Tversion | Tauth | Tattach | Tflush | Twalk | Tread | Twrite | Tclunk | Tremove;

export type RMessage =
  | Rlerror | Rstatfs | Rlopen | Rlcreate | Rsymlink | Rmknod | Rrename | Rreadlink | Rgetattr
  | Rsetattr | Rxattrwalk | Rxattrcreate | Rreaddir | Rfsync | Rlock | Rgetlock | Rlink | Rmkdir
  | Rrenameat | Runlinkat | Rversion | Rauth | Rattach | Rflush | Rwalk | Rread | Rwrite | Rclunk
  | Rremove;

export type Message = TMessage | RMessage;
export type MessageOf<N extends Message['type']> = Extract<Message, { type: N }>;

/** One record of Rreaddir's data: qid[13] offset[8] type[1] name[s]. */
export interface Dirent {
  qid: Qid;
  offset: number;
  type: number;
  name: string;
}
