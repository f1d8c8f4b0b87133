/**
 * Extended attributes the 9P2000.L way. Txattrwalk makes a new fid holding the value (or, for the
 * empty name, the NUL-terminated list of names) for Tread to fetch; Txattrcreate turns a fid into
 * a sink for Twrite, and the set happens at Tclunk (size 0 means remove, as QEMU does).
 * An empty list answers size 0, never ENODATA: overlayfs copy-up in the guest depends on it.
 */
import { fsError } from '../fs/errno.ts';
import { checkWritable, nodeFid, type Fid, type Session } from './fids.ts';
import { XattrFlags, type Rxattrcreate, type Rxattrwalk, type Txattrcreate, type Txattrwalk } from './messages.ts';

/** Linux XATTR_SIZE_MAX. */
export const XATTR_SIZE_MAX = 65536;
const utf8 = new TextEncoder();

function checkXattrName(name: string): void {
  if (name.includes('\0')) throw fsError('EINVAL', 'xattr name contains NUL');
  if (utf8.encode(name).length > 255) throw fsError('ERANGE', 'xattr name longer than 255 bytes');
}

export function xattrwalk(s: Session, msg: Txattrwalk): Rxattrwalk {
  const fid = nodeFid(s, msg.fid);
  if (msg.newfid !== msg.fid && s.fids.has(msg.newfid)) throw fsError('EINVAL', `newfid ${msg.newfid} is already in use`);
  checkXattrName(msg.name);
  const { fs } = fid.exp;
  let data: Uint8Array;
  if (msg.name === '') {
    const names = fs.listxattr(fid.node);
    data = utf8.encode(names.map((n) => `${n}\0`).join(''));
  } else {
    data = fs.getxattr(fid.node, msg.name).slice();
  }
  if (data.length > XATTR_SIZE_MAX) throw fsError('E2BIG', `xattr data of ${data.length} bytes`);
  const xfid: Fid = {
    id: msg.newfid, exp: fid.exp, node: fid.node, path: fid.path ? [...fid.path] : null, uid: fid.uid,
    openFlags: null, xattr: { mode: 'read', data },
  };
  s.fids.set(xfid);
  return { type: 'Rxattrwalk', tag: msg.tag, size: data.length };
}

export function xattrcreate(s: Session, msg: Txattrcreate): Rxattrcreate {
  const fid = nodeFid(s, msg.fid);
  checkWritable(fid);
  if (msg.name === '') throw fsError('EINVAL', 'xattrcreate with an empty name');
  checkXattrName(msg.name);
  if (msg.attrSize > XATTR_SIZE_MAX) throw fsError('E2BIG', `xattr value of ${msg.attrSize} bytes (max ${XATTR_SIZE_MAX})`);
  if (msg.flags & ~(XattrFlags.CREATE | XattrFlags.REPLACE)) throw fsError('EINVAL', `xattrcreate flags 0x${msg.flags.toString(16)}`);
  // The buffer is the declared size (Twrite fills it at any offset), so all fids' buffers share one budget.
  s.fids.setXattr(fid, { mode: 'write', name: msg.name, size: msg.attrSize, flags: msg.flags, data: new Uint8Array(msg.attrSize), written: 0 });
  return { type: 'Rxattrcreate', tag: msg.tag };
}

/** At clunk of an xattrcreate fid: apply the set (or the removal, for size 0). */
export function commitXattr(fid: Fid): void {
  const x = fid.xattr;
  if (!x || x.mode !== 'write') return;
  if (x.written !== x.size) throw fsError('EINVAL', `xattr ${x.name}: ${x.written} of ${x.size} bytes written before clunk`);
  const { fs } = fid.exp;
  if (x.size === 0 && !(x.flags & XattrFlags.CREATE)) {
    fs.removexattr(fid.node, x.name);
    return;
  }
  fs.setxattr(fid.node, x.name, x.data, {
    create: (x.flags & XattrFlags.CREATE) !== 0,
    replace: (x.flags & XattrFlags.REPLACE) !== 0,
  });
}
