/**
 * Handlers that walk or change the namespace: walk, mkdir, mknod, symlink, link, rename,
 * renameat, unlinkat, remove. No walk leaves its export: `..` at an export root stays there.
 */
import { fsError } from '../fs/errno.ts';
import { S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, type FsNode } from '../fs/types.ts';
import { qidOf } from './attr.ts';
import { sharedQidOf } from './share.ts';
import {
  checkName, checkWritable, childPath, nodeFid, parentOf, type Fid, type Session,
} from './fids.ts';
import {
  AT_REMOVEDIR, MAXWELEM,
  type Qid, type Rlerror, type Rlink, type Rmkdir, type Rmknod, type Rremove, type Rrename,
  type Rrenameat, type Rsymlink, type Runlinkat, type Rwalk, type Tlink, type Tmkdir, type Tmknod,
  type Tremove, type Trename, type Trenameat, type Tsymlink, type Tunlinkat, type Twalk,
} from './messages.ts';

function checkWalkName(name: string): void {
  if (name === '' || name.includes('/') || name.includes('\0')) {
    throw fsError('EINVAL', `walk name ${JSON.stringify(name)} is empty or contains '/' or NUL`);
  }
}

export function walk(s: Session, msg: Twalk): Rwalk | Rlerror {
  const from = nodeFid(s, msg.fid);
  if (msg.wnames.length > MAXWELEM) throw fsError('EINVAL', `Twalk with ${msg.wnames.length} names (max ${MAXWELEM})`);
  if (msg.newfid !== msg.fid && s.fids.has(msg.newfid)) throw fsError('EINVAL', `newfid ${msg.newfid} is already in use`);
  let exp = from.exp;
  let node = from.node;
  let path = from.path ? [...from.path] : null;
  const wqids: Qid[] = [];
  for (const name of msg.wnames) {
    try {
      checkWalkName(name);
      if (exp.isExportsRoot) {
        // From the directory of exports, a name enters that export at its root.
        if (name !== '.' && name !== '..') {
          const next = s.lookupExport(name);
          if (!next) throw fsError('ENOENT', `no export named "${name}"`);
          exp = next;
          node = exp.fs.root();
          path = [];
        }
      } else if (name === '..') {
        // The export root is the top: its `..` is itself, whatever the filesystem says.
        if (path && path.length > 0) {
          if (exp.fs.stat(node).kind !== 'directory') throw fsError('ENOTDIR', `walk "..": not a directory`);
          node = exp.fs.parent(node);
          path.pop();
        } else if (!path) {
          throw fsError('ENOENT', `walk "..": fid ${msg.fid} names an unlinked node`);
        }
      } else if (name !== '.') {
        // Only a directory has entries: a filesystem must never be asked to look inside a
        // symlink or a file (a host directory would otherwise follow it out of the bind).
        const kind = exp.fs.stat(node).kind;
        if (kind !== 'directory') throw fsError('ENOTDIR', `walk "${name}": not a directory`);
        node = exp.fs.lookup(node, name);
        path?.push(name);
      }
      const st = exp.fs.stat(node);
      wqids.push((st.kind === 'file' ? sharedQidOf(s.shared, exp, node) : null) ?? qidOf(st, exp.serial));
    } catch (err) {
      // Per walk(5): an error on the first name is an error; later, a short Rwalk.
      if (wqids.length === 0) throw err;
      return { type: 'Rwalk', tag: msg.tag, wqids };
    }
  }
  const fid: Fid = { id: msg.newfid, exp, node, path, uid: from.uid, openFlags: null };
  s.fids.set(fid);
  return { type: 'Rwalk', tag: msg.tag, wqids };
}

/** A fid naming a directory of a writable export: where names are created or removed. */
function dirFid(s: Session, id: number): Fid {
  const fid = nodeFid(s, id);
  checkWritable(fid);
  const kind = fid.exp.fs.stat(fid.node).kind;
  if (kind !== 'directory') throw fsError('ENOTDIR', `fid ${id} names a ${kind}, not a directory`);
  return fid;
}

export function mkdir(s: Session, msg: Tmkdir): Rmkdir {
  const dir = dirFid(s, msg.dfid);
  checkName(msg.name);
  const node = dir.exp.fs.mkdir(dir.node, msg.name, { mode: msg.mode & 0o7777, uid: dir.uid, gid: msg.gid });
  return { type: 'Rmkdir', tag: msg.tag, qid: qidOf(dir.exp.fs.stat(node), dir.exp.serial) };
}

export function mknod(s: Session, msg: Tmknod): Rmknod {
  const dir = dirFid(s, msg.dfid);
  checkName(msg.name);
  const attr = { mode: msg.mode & 0o7777, uid: dir.uid, gid: msg.gid };
  const { fs } = dir.exp;
  const fmt = msg.mode & S_IFMT;
  let node;
  if (fmt === 0 || fmt === S_IFREG) node = fs.create(dir.node, msg.name, attr);
  else if (fmt === S_IFCHR) node = fs.mknod(dir.node, msg.name, 'chardev', msg.major, msg.minor, attr);
  else if (fmt === S_IFBLK) node = fs.mknod(dir.node, msg.name, 'blockdev', msg.major, msg.minor, attr);
  else if (fmt === S_IFIFO) node = fs.mknod(dir.node, msg.name, 'fifo', 0, 0, attr);
  else if (fmt === S_IFSOCK) node = fs.mknod(dir.node, msg.name, 'socket', 0, 0, attr);
  else throw fsError('EINVAL', `mknod of file type 0o${fmt.toString(8)}`);
  return { type: 'Rmknod', tag: msg.tag, qid: qidOf(fs.stat(node), dir.exp.serial) };
}

export function symlink(s: Session, msg: Tsymlink): Rsymlink {
  const dir = dirFid(s, msg.fid);
  checkName(msg.name);
  if (msg.symtgt === '' || msg.symtgt.includes('\0')) throw fsError('EINVAL', 'symlink target is empty or contains NUL');
  const node = dir.exp.fs.symlink(dir.node, msg.name, msg.symtgt, { uid: dir.uid, gid: msg.gid });
  return { type: 'Rsymlink', tag: msg.tag, qid: qidOf(dir.exp.fs.stat(node), dir.exp.serial) };
}

export function link(s: Session, msg: Tlink): Rlink {
  const dir = dirFid(s, msg.dfid);
  const target = nodeFid(s, msg.fid);
  checkName(msg.name);
  if (target.exp !== dir.exp) throw fsError('EXDEV', 'link across exports');
  dir.exp.fs.link(dir.node, msg.name, target.node);
  return { type: 'Rlink', tag: msg.tag };
}

function doRename(s: Session, from: Fid, fromName: string, to: Fid, toName: string): void {
  for (const dir of [from, to]) {
    checkWritable(dir);
    const kind = dir.exp.fs.stat(dir.node).kind;
    if (kind !== 'directory') throw fsError('ENOTDIR', `rename: fid ${dir.id} names a ${kind}, not a directory`);
  }
  checkName(fromName);
  checkName(toName);
  if (from.exp !== to.exp) throw fsError('EXDEV', 'rename across exports');
  const { fs } = from.exp;
  // rename(2) between two names of one inode does nothing, so no fid moves or loses its name.
  const same = sameNode(() => fs.lookup(from.node, fromName), () => fs.lookup(to.node, toName));
  fs.rename(from.node, fromName, to.node, toName);
  if (same) return;
  const fromPath = childPath(from, fromName);
  const toPath = childPath(to, toName);
  if (fromPath && toPath) s.fids.renamed(from.exp, fromPath, toPath);
  else if (toPath) s.fids.unlinked(from.exp, toPath);
}

function sameNode(a: () => FsNode, b: () => FsNode): boolean {
  try {
    return a().ino === b().ino;
  } catch {
    return false;
  }
}

export function rename(s: Session, msg: Trename): Rrename {
  const fid = nodeFid(s, msg.fid);
  const { dir, name, dirPath } = parentOf(fid);
  const holder: Fid = { id: -1, exp: fid.exp, node: dir, path: dirPath, uid: fid.uid, openFlags: null };
  doRename(s, holder, name, nodeFid(s, msg.dfid), msg.name);
  return { type: 'Rrename', tag: msg.tag };
}

export function renameat(s: Session, msg: Trenameat): Rrenameat {
  doRename(s, nodeFid(s, msg.olddirfid), msg.oldname, nodeFid(s, msg.newdirfid), msg.newname);
  return { type: 'Rrenameat', tag: msg.tag };
}

export function unlinkat(s: Session, msg: Tunlinkat): Runlinkat {
  const dir = dirFid(s, msg.dirfid);
  checkName(msg.name);
  if (msg.flags & ~AT_REMOVEDIR) throw fsError('EINVAL', `unlinkat flags 0x${msg.flags.toString(16)}`);
  dir.exp.fs.unlink(dir.node, msg.name, { directory: (msg.flags & AT_REMOVEDIR) !== 0 });
  const path = childPath(dir, msg.name);
  if (path) s.fids.unlinked(dir.exp, path);
  return { type: 'Runlinkat', tag: msg.tag };
}

/** Tremove: unlink what the fid names, and clunk the fid whether or not that worked. */
export function remove(s: Session, msg: Tremove, clunk: (fid: Fid) => void): Rremove {
  const fid = nodeFid(s, msg.fid);
  try {
    checkWritable(fid);
    const { dir, name } = parentOf(fid);
    const directory = fid.exp.fs.stat(fid.node).kind === 'directory';
    fid.exp.fs.unlink(dir, name, { directory });
    s.fids.unlinked(fid.exp, fid.path!);
  } finally {
    clunk(fid);
  }
  return { type: 'Rremove', tag: msg.tag };
}
