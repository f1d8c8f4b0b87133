/**
 * Handlers that read or change one node: getattr, setattr, lopen, lcreate, read, write, readdir,
 * readlink, statfs, fsync. Replies never exceed the negotiated msize.
 */
import { FsError, fsError } from '../fs/errno.ts';
import type { DirEntry, FsNode } from '../fs/types.ts';
import { direntType, getattrReply, qidOf, setattrFrom } from './attr.ts';
import { direntSize, encodeDirents } from './codec.ts';
import { checkName, checkWritable, liveFid, nodeFid, type Fid, type Session } from './fids.ts';
import { shareKeyOf, sharedQid, sharedQidOf } from './share.ts';
import {
  IO_HEADER_SIZE, OpenFlags, QID_CACHEABLE, V9FS_MAGIC,
  type Dirent, type Qid, type Rfsync, type Rgetattr, type Rlcreate, type Rlopen, type Rread, type Rreaddir,
  type Rreadlink, type Rsetattr, type Rstatfs, type Rwrite, type Tfsync, type Tgetattr, type Tlcreate,
  type Tlopen, type Tread, type Treaddir, type Treadlink, type Tsetattr, type Tstatfs, type Twrite,
} from './messages.ts';

const utf8 = new TextEncoder();

export function getattr(s: Session, msg: Tgetattr): Rgetattr {
  const fid = nodeFid(s, msg.fid);
  const st = fid.exp.fs.stat(fid.node);
  const reply = getattrReply(msg.tag, st, fid.exp.serial);
  // Never the export's root: the guest pins it (a mount's source) and a pool may rebind the name.
  // Never a file with several names: the guest holds one inode per name, and a write through one
  // would leave the others' cached size and times stale.
  if (fid.exp.cacheable && fid.path?.length !== 0 && (st.kind === 'directory' || st.nlink <= 1)) {
    reply.qid = sharedQidOf(s.shared, fid.exp, fid.node) ?? { ...reply.qid, type: reply.qid.type | QID_CACHEABLE };
  }
  return reply;
}

export function setattr(s: Session, msg: Tsetattr): Rsetattr {
  const fid = nodeFid(s, msg.fid);
  checkWritable(fid);
  const attr = setattrFrom(msg, s.now());
  if (Object.keys(attr).length === 0) return { type: 'Rsetattr', tag: msg.tag };
  // What Linux refuses by file kind, refused before the filesystem sees it: truncate(2) of
  // anything but a regular file, a mode on a symlink (there is no lchmod).
  const kind = fid.exp.fs.stat(fid.node).kind;
  if (attr.size !== undefined) {
    if (kind !== 'file') throw fsError(kind === 'directory' ? 'EISDIR' : 'EINVAL', `truncating a ${kind}`);
    if (attr.size > s.maxFileSize) throw fsError('EFBIG', `size ${attr.size} over ${s.maxFileSize}`);
  }
  if (attr.mode !== undefined && kind === 'symlink') throw fsError('EOPNOTSUPP', 'the mode of a symlink cannot change');
  fid.exp.fs.setattr(fid.node, attr);
  return { type: 'Rsetattr', tag: msg.tag };
}

const wantsWrite = (flags: number) => {
  const acc = flags & OpenFlags.ACCMODE;
  return acc === OpenFlags.WRONLY || acc === OpenFlags.RDWR;
};
const wantsRead = (flags: number) => {
  const acc = flags & OpenFlags.ACCMODE;
  return acc === OpenFlags.RDONLY || acc === OpenFlags.RDWR;
};

/**
 * Checks and side effects of opening `node` with Linux open flags (O_TRUNC truncates); the qid
 * to answer with. A shared image file (share.ts) opened for writing or truncating is copied up
 * first, so the answer carries the container's own qid; opened otherwise, the fid reads that
 * image file from now on (`frozen`).
 */
function openNode(s: Session, fid: Fid, node: FsNode, flags: number): Qid {
  const st = fid.exp.fs.stat(node);
  if (st.kind === 'directory' && (wantsWrite(flags) || flags & OpenFlags.TRUNC)) throw fsError('EISDIR', 'opening a directory for writing');
  if (st.kind !== 'directory' && flags & OpenFlags.DIRECTORY) throw fsError('ENOTDIR', 'O_DIRECTORY on a non-directory');
  if (st.kind === 'symlink') throw fsError('ELOOP', 'opening a symlink');
  const writes = wantsWrite(flags) || (flags & OpenFlags.TRUNC) !== 0;
  if (writes) checkWritable(fid);
  const key = st.kind === 'file' ? shareKeyOf(s.shared, fid.exp, node) : null;
  if (key !== null && writes) fid.exp.fs.copyUpFile!(node);
  if (flags & OpenFlags.TRUNC && st.kind === 'file' && st.size !== 0) {
    const now = s.now();
    fid.exp.fs.setattr(node, { size: 0, mtimeMs: now, ctimeMs: now });
  }
  if (key !== null && !writes) {
    const id = s.shared!.idOf(key);
    if (id !== null) {
      fid.frozen = key;
      return sharedQid(id);
    }
  }
  return qidOf(fid.exp.fs.stat(node), fid.exp.serial);
}

export function lopen(s: Session, msg: Tlopen): Rlopen {
  const fid = nodeFid(s, msg.fid);
  if (fid.openFlags !== null) throw fsError('EINVAL', `fid ${msg.fid} is already open`);
  const qid = openNode(s, fid, fid.node, msg.flags);
  fid.openFlags = msg.flags;
  s.fids.dropListing(fid);
  return { type: 'Rlopen', tag: msg.tag, qid, iounit: 0 };
}

export function lcreate(s: Session, msg: Tlcreate): Rlcreate {
  const fid = nodeFid(s, msg.fid);
  if (fid.openFlags !== null) throw fsError('EINVAL', `fid ${msg.fid} is already open`);
  checkWritable(fid);
  checkName(msg.name);
  const { fs } = fid.exp;
  const dirKind = fs.stat(fid.node).kind;
  if (dirKind !== 'directory') throw fsError('ENOTDIR', `Tlcreate in a ${dirKind}`);
  let node: FsNode;
  let qid: Qid | undefined;
  try {
    node = fs.create(fid.node, msg.name, { mode: msg.mode & 0o7777, uid: fid.uid, gid: msg.gid });
  } catch (err) {
    // O_CREAT without O_EXCL opens what is already there, as open(2) does.
    if (!(err instanceof FsError) || err.code !== 'EEXIST' || msg.flags & OpenFlags.EXCL) throw err;
    node = fs.lookup(fid.node, msg.name);
    if (fs.stat(node).kind === 'directory') throw fsError('EISDIR', `O_CREAT on directory "${msg.name}"`);
    qid = openNode(s, fid, node, msg.flags);
  }
  fid.node = node;
  fid.path = fid.path ? [...fid.path, msg.name] : null;
  fid.openFlags = msg.flags;
  s.fids.dropListing(fid);
  return { type: 'Rlcreate', tag: msg.tag, qid: qid ?? qidOf(fs.stat(node), fid.exp.serial), iounit: 0 };
}

export function read(s: Session, msg: Tread): Rread {
  const fid = liveFid(s, msg.fid);
  const count = Math.min(msg.count, s.msize - IO_HEADER_SIZE);
  if (fid.xattr) {
    if (fid.xattr.mode !== 'read') throw fsError('EBADF', `fid ${msg.fid} is being written as an xattr`);
    return { type: 'Rread', tag: msg.tag, data: fid.xattr.data.subarray(msg.offset, msg.offset + count) };
  }
  if (fid.openFlags === null || !wantsRead(fid.openFlags)) throw fsError('EBADF', `fid ${msg.fid} is not open for reading`);
  const { fs } = fid.exp;
  const kind = fs.stat(fid.node).kind;
  if (kind === 'directory') throw fsError('EISDIR', 'Tread on a directory (use Treaddir)');
  if (kind !== 'file') throw fsError('EINVAL', `Tread on a ${kind}`);
  // Opened while shared: the guest's shared page cache fills through this fid (share.ts).
  if (fid.frozen !== undefined) return { type: 'Rread', tag: msg.tag, data: fs.readImageFile!(fid.node, msg.offset, count) };
  return { type: 'Rread', tag: msg.tag, data: fs.read(fid.node, msg.offset, count) };
}

export function write(s: Session, msg: Twrite): Rwrite {
  const fid = liveFid(s, msg.fid);
  if (fid.xattr) {
    const x = fid.xattr;
    if (x.mode !== 'write') throw fsError('EBADF', `fid ${msg.fid} is an xattr read fid`);
    if (msg.offset + msg.data.length > x.size) throw fsError('ENOSPC', `xattr write past its declared size ${x.size}`);
    x.data.set(msg.data, msg.offset);
    x.written += msg.data.length;
    return { type: 'Rwrite', tag: msg.tag, count: msg.data.length };
  }
  if (fid.openFlags === null || !wantsWrite(fid.openFlags)) throw fsError('EBADF', `fid ${msg.fid} is not open for writing`);
  checkWritable(fid);
  const { fs } = fid.exp;
  const st = fs.stat(fid.node);
  if (st.kind !== 'file') throw fsError(st.kind === 'directory' ? 'EISDIR' : 'EINVAL', `Twrite on a ${st.kind}`);
  // O_APPEND writes land at the end whatever offset the client computed from its cached size.
  const offset = fid.openFlags & OpenFlags.APPEND ? st.size : msg.offset;
  if (offset + msg.data.length > s.maxFileSize) throw fsError('EFBIG', `write past ${s.maxFileSize} bytes`);
  const count = fs.write(fid.node, offset, msg.data);
  return { type: 'Rwrite', tag: msg.tag, count };
}

/**
 * Entries are ".", ".." and the directory's children, listed once at offset 0 and kept on the
 * fid, so the cookie of entry i is i + 1 for the rest of that directory stream.
 */
export function readdir(s: Session, msg: Treaddir): Rreaddir {
  const fid = nodeFid(s, msg.fid);
  const { fs } = fid.exp;
  const st = fs.stat(fid.node);
  if (st.kind !== 'directory') throw fsError('ENOTDIR', `Treaddir on a ${st.kind}`);
  if (msg.offset === 0 || !fid.listing) {
    const atRoot = fid.path !== null && fid.path.length === 0;
    const parent = atRoot ? fid.node : fs.parent(fid.node);
    const parentSt = fs.stat(parent);
    s.fids.keepListing(fid, {
      entries: [
        { name: '.', ino: st.ino, kind: 'directory' },
        { name: '..', ino: parentSt.ino, kind: 'directory' },
        ...fs.readdir(fid.node),
      ],
    });
  }
  const budget = Math.min(msg.count, s.msize - IO_HEADER_SIZE);
  const out: Dirent[] = [];
  let used = 0;
  const { entries } = fid.listing!;
  for (let i = msg.offset; i < entries.length; i++) {
    const e = entries[i]!;
    const size = direntSize(utf8.encode(e.name).length);
    if (used + size > budget) break;
    used += size;
    out.push({ qid: direntQid(s, fid, e), offset: i + 1, type: direntType(e.kind), name: e.name });
  }
  if (out.length === 0 && msg.offset < entries.length && budget > 0) {
    throw fsError('EINVAL', `Treaddir count ${msg.count} cannot hold the next entry`);
  }
  return { type: 'Rreaddir', tag: msg.tag, data: encodeDirents(out) };
}

function direntQid(s: Session, fid: Fid, e: DirEntry): Qid {
  if (fid.exp.isExportsRoot && e.name !== '.' && e.name !== '..') {
    const exp = s.lookupExport(e.name);
    if (exp) return qidOf(exp.fs.stat(exp.fs.root()), exp.serial);
  }
  // d_ino must be st_ino: a shared image file's entry carries its shared qid. The listing was
  // taken at offset 0: a name unlinked (rm -r unlinks as it reads) or replaced since keeps the
  // qid it was listed with, never fails the page.
  if (e.kind === 'file' && s.shared && fid.exp.cacheable && fid.exp.fs.imageFileKey) {
    let node: FsNode | null = null;
    try {
      node = fid.exp.fs.lookup(fid.node, e.name);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
    }
    const q = node && fid.exp.fs.stat(node).ino === e.ino ? sharedQidOf(s.shared, fid.exp, node) : null;
    if (q) return q;
  }
  return qidOf({ kind: e.kind, ino: e.ino, version: 0 }, fid.exp.serial);
}

export function readlink(s: Session, msg: Treadlink): Rreadlink {
  const fid = nodeFid(s, msg.fid);
  return { type: 'Rreadlink', tag: msg.tag, target: fid.exp.fs.readlink(fid.node) };
}

export function statfs(s: Session, msg: Tstatfs): Rstatfs {
  const fid = nodeFid(s, msg.fid);
  const st = fid.exp.fs.statfs();
  return {
    type: 'Rstatfs', tag: msg.tag, fsType: V9FS_MAGIC, bsize: st.blockSize, blocks: st.blocks,
    bfree: st.blocksFree, bavail: st.blocksFree, files: st.files, ffree: st.filesFree,
    fsid: fsidOf(fid.exp.name), namelen: st.nameMax,
  };
}

/** A stable fsid per export name (FNV-1a), so each export looks like its own filesystem. */
function fsidOf(name: string): number {
  let h = 0x811c9dc5;
  for (const b of utf8.encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function fsync(s: Session, msg: Tfsync): Rfsync {
  nodeFid(s, msg.fid);
  return { type: 'Rfsync', tag: msg.tag };
}

/**
 * What Rfsync waits for: writes reach the export's filesystem as they arrive, but a writable
 * layer is saved to its store on a timer; its `sync` saves now (the server answers after).
 */
export function synced(s: Session, msg: Tfsync): Promise<void> | void {
  return nodeFid(s, msg.fid).exp.fs.sync?.();
}
