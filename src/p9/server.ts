/**
 * P9Server: a 9P2000.L file server over `FileSystem` (fs/types.ts). Exports are chosen by the
 * attach name; `handle(request)` takes one whole message and returns the whole reply, which is
 * all v86's `filesystem.handle9p` needs. Every failure becomes Rlerror with a Linux errno: no
 * exception escapes `handle`, whatever the bytes.
 *
 * Fid state is JSON-able (`saveState`/`restoreState`) because a guest restored from a VM
 * snapshot still holds the fids it had.
 */
import { SkiffError } from '../errors.ts';
import { Errno, FsError, fsError } from '../fs/errno.ts';
import { PendingIO, retryAfterIO } from '../fs/pending-io.ts';
import type { FileSystem, FsNode } from '../fs/types.ts';
import { qidOf } from './attr.ts';
import { decode, decodeErrorTag, encode, P9DecodeError, peekHeader } from './codec.ts';
import { FidTable, nodeFid, resolvePath, type Export, type Fid, type Session } from './fids.ts';
import * as io from './io.ts';
import { LockTable } from './locks.ts';
import {
  LockStatus, LockType, NOFID, NONUNAME, NOTAG, VERSION_9P2000_L,
  type RMessage, type Rattach, type Rgetlock, type Rlock, type Rversion, type TMessage, type Tattach,
  type Tgetlock, type Tlock, type Tversion,
} from './messages.ts';
import * as ns from './namespace.ts';
import { frozenHolds, SharedFiles } from './share.ts';
import { restoreFids, saveFids, type P9ServerState } from './state.ts';
import { describe, traceSink, type TraceSink } from './trace.ts';
import { commitXattr, xattrcreate, xattrwalk } from './xattr.ts';
import { ExportsRoot } from './exports-root.ts';

export type { P9ServerState } from './state.ts';

const STALE_NODE: FsNode = Object.freeze({ ino: -1 });

export interface P9ServerOptions {
  /** Largest msize this server accepts (the client may ask for less). Default 512 KiB. */
  maxMsize?: number;
  /** Log every message decoded and encoded, one line each: true (stderr) or a sink (src/node.ts: SKIFF_TRACE=9p). */
  trace?: boolean | TraceSink;
  /** Clock for "now" in setattr and O_TRUNC, in ms since the epoch. */
  now?: () => number;
  /**
   * Writes and truncates past this size fail with EFBIG (default 64 GiB): the in-memory layer
   * keeps per-chunk tables, so a hostile `truncate -s 1P` must not reach it.
   */
  maxFileSize?: number;
  /**
   * Untouched image files of cacheable exports get one qid in every export (share.ts), so the
   * guest shares their inode and page cache between containers. Only for a guest whose kernel
   * knows the QID_SHARED bit (vm-images/kernel/skiff-9p-share.patch). Default false.
   */
  shareImageFiles?: boolean;
}

export interface ExportOptions {
  readOnly?: boolean;
  /**
   * Only this server and its caller change the files (a container's root: the guest through this
   * server, the engine through `skiff cp`): getattr answers below the export's root carry
   * QID_CACHEABLE, and the caller must have the guest drop what it cached (a new epoch,
   * vm-images/kernel/skiff-9p-cache.patch) whenever it changes the files itself. Never for
   * filesystems that change behind the server's back (bind mounts of host directories).
   */
  cacheable?: boolean;
}

/** Smallest msize that still carries a useful Tread/Twrite. */
const MIN_MSIZE = 4096;
const DEFAULT_MAX_MSIZE = 512 * 1024;

export class P9Server implements Session {
  readonly fids = new FidTable();
  private readonly exports = new Map<string, Export>();
  private readonly maxMsize: number;
  private readonly trace: TraceSink | undefined;
  private readonly clock: () => number;
  readonly maxFileSize: number;
  private negotiated = 0;
  private nextSerial = 1;
  /** P9ServerOptions.shareImageFiles; may change at any time (files opened meanwhile stay as they were). */
  shareImageFiles: boolean;
  private readonly sharedFiles = new SharedFiles();
  /** Replies still to come, by tag: requests waiting for the content store or an fsync's save. */
  private readonly waiting = new Map<number, Promise<Uint8Array>>();
  private readonly exportsRoot: Export = {
    name: '', fs: new ExportsRoot(() => [...this.exports.keys()]), readOnly: true, locks: new LockTable(),
    serial: 0, isExportsRoot: true,
  };

  constructor(options: P9ServerOptions = {}) {
    this.maxMsize = options.maxMsize ?? DEFAULT_MAX_MSIZE;
    if (!Number.isInteger(this.maxMsize) || this.maxMsize < MIN_MSIZE) {
      throw new SkiffError('INVALID_ARGUMENT', `P9Server: maxMsize ${this.maxMsize} is below ${MIN_MSIZE}`);
    }
    this.trace = traceSink(options.trace);
    this.clock = options.now ?? Date.now;
    this.maxFileSize = options.maxFileSize ?? 2 ** 36;
    this.shareImageFiles = options.shareImageFiles ?? false;
  }

  /** The ids of shared image files, while sharing is on (Session.shared). */
  get shared(): SharedFiles | null {
    return this.shareImageFiles ? this.sharedFiles : null;
  }

  /** How many image files got a shared id so far (also while sharing is off: the ids restored). */
  get sharedFileCount(): number {
    return this.sharedFiles.size;
  }

  /** The msize agreed by Tversion (0 before it). */
  get msize(): number {
    return this.negotiated;
  }

  now(): number {
    return this.clock();
  }

  addExport(name: string, fs: FileSystem, options: ExportOptions = {}): void {
    if (this.exports.has(name)) throw new SkiffError('ALREADY_EXISTS', `9P export "${name}" already exists`);
    if (name.includes('/') || name.includes('\0') || name === '.' || name === '..') {
      throw new SkiffError('INVALID_ARGUMENT', `9P export name ${JSON.stringify(name)}: must be one path component`);
    }
    const serial = this.nextSerial++;
    if (serial > 0x1fffff) throw new SkiffError('INTERNAL', '9P export serials exhausted');
    this.exports.set(name, {
      name, fs, readOnly: Boolean(options.readOnly) || fs.readOnly, locks: new LockTable(), serial, cacheable: Boolean(options.cacheable),
    });
  }

  lookupExport(name: string): Export | undefined {
    return this.exports.get(name);
  }

  /** Removes an export; fids the guest still holds on it are dropped (their next use is EBADF). */
  removeExport(name: string): void {
    const exp = this.exports.get(name);
    if (!exp) throw new SkiffError('NOT_FOUND', `9P export "${name}" does not exist`);
    this.fids.dropExport(exp);
    this.exports.delete(name);
  }

  /**
   * Points export `name` at another filesystem, keeping the fids the guest holds on it: each is
   * resolved again by its path in `fs` (as after a snapshot restore: one whose path is missing
   * there answers ENOENT but to Tclunk). A pooled container's root is bound this way to the
   * container that claims it (runtime/vm/pool.ts); its qids get a new serial, so no inode of the
   * old filesystem aliases one of the new in the guest.
   */
  retargetExport(name: string, fs: FileSystem, options: ExportOptions = {}): void {
    const old = this.exports.get(name);
    if (!old) throw new SkiffError('NOT_FOUND', `9P export "${name}" does not exist`);
    const serial = this.nextSerial++;
    if (serial > 0x1fffff) throw new SkiffError('INTERNAL', '9P export serials exhausted');
    const exp: Export = { name, fs, readOnly: Boolean(options.readOnly) || fs.readOnly, locks: new LockTable(), serial, cacheable: Boolean(options.cacheable) };
    this.exports.set(name, exp);
    for (const fid of [...this.fids.values()]) {
      if (fid.exp !== old) continue;
      let node: FsNode = STALE_NODE;
      let stale = fid.stale === true || fid.path === null;
      if (!stale) {
        try {
          node = resolvePath(exp, fid.path!);
        } catch (err) {
          if (!(err instanceof FsError)) throw err;
          stale = true;
        }
      }
      // A fid the guest's shared page cache fills through must keep reading that image file.
      if (!stale && !frozenHolds(exp, node, fid.frozen)) stale = true;
      const frozen = !stale && fid.frozen !== undefined ? { frozen: fid.frozen } : {};
      // Open state, listings and xattr buffers belonged to the old node: the guest reopens.
      this.fids.set({ id: fid.id, exp, node, path: stale ? null : fid.path, uid: fid.uid, openFlags: fid.openFlags, ...frozen, ...(stale ? { stale: true } : {}) });
    }
  }

  exportNames(): string[] {
    return [...this.exports.keys()];
  }

  /**
   * One whole request in, one whole reply out. Never throws. For filesystems that never wait: a
   * request whose bytes must come from an asynchronous store (PendingIO) answers EAGAIN here;
   * `handleAsync` waits for them instead.
   */
  handle(request: Uint8Array): Uint8Array {
    return this.respond(request, false) as Uint8Array;
  }

  /**
   * As `handle`, but a request that needs bytes from an asynchronous store (image layers in
   * IndexedDB) is answered when they arrive: a promise then, the reply itself otherwise. The
   * guest matches replies by tag, so later requests may be answered first (v86 allows it).
   */
  handleAsync(request: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.respond(request, true);
  }

  private respond(request: Uint8Array, canWait: boolean): Uint8Array | Promise<Uint8Array> {
    let msg: TMessage;
    try {
      if (this.negotiated && request.length > this.negotiated) {
        throw new P9DecodeError(`message of ${request.length} bytes exceeds msize ${this.negotiated}`);
      }
      const decoded = decode(request);
      if (decoded.type[0] !== 'T') throw new P9DecodeError(`${decoded.type} is a reply, not a request`, Errno.EOPNOTSUPP);
      msg = decoded as TMessage;
    } catch (err) {
      const tag = decodeErrorTag(err) ?? peekHeader(request)?.tag ?? NOTAG;
      const errno = err instanceof P9DecodeError ? err.errno : Errno.EIO;
      this.trace?.(`9p <- undecodable (${request.length} bytes): ${(err as Error).message}`);
      return this.reply({ type: 'Rlerror', tag, ecode: errno });
    }
    this.trace?.(`9p <- ${describe(msg)}`);
    // The client reuses a tag once Rflush arrives, so a reply still to come goes out before it.
    const flushed = msg.type === 'Tflush' ? this.waiting.get(msg.oldtag) : undefined;
    if (flushed) return flushed.then(() => this.reply({ type: 'Rflush', tag: msg.tag }));
    let reply: RMessage;
    try {
      reply = this.dispatch(msg);
    } catch (err) {
      if (canWait && err instanceof PendingIO) return this.track(msg.tag, this.later(msg, err));
      reply = this.failed(msg, err);
    }
    if (msg.type === 'Tfsync' && reply.type === 'Rfsync') {
      const r = this.afterSync(msg, reply, canWait);
      return r instanceof Promise ? this.track(msg.tag, r) : r;
    }
    return this.reply(reply);
  }

  private track(tag: number, p: Promise<Uint8Array>): Promise<Uint8Array> {
    this.waiting.set(tag, p);
    void p.finally(() => {
      if (this.waiting.get(tag) === p) this.waiting.delete(tag);
    });
    return p;
  }

  /** Rfsync once the export's filesystem says the writes are durable (Rlerror if saving failed). */
  private afterSync(msg: TMessage, reply: RMessage, canWait: boolean): Uint8Array | Promise<Uint8Array> {
    let saved: Promise<void> | void;
    try {
      saved = io.synced(this, msg as Extract<TMessage, { type: 'Tfsync' }>);
    } catch (err) {
      return this.reply(this.failed(msg, err));
    }
    if (!saved) return this.reply(reply);
    // A caller that cannot wait (handle()) still starts the save; only the reply cannot tell.
    if (!canWait) {
      saved.catch(() => {});
      return this.reply(reply);
    }
    return saved.then(() => this.reply(reply), (err: unknown) => this.reply(this.failed(msg, err)));
  }

  private failed(msg: TMessage, err: unknown): RMessage {
    if (this.trace) this.trace(`9p !! ${msg.type}: ${(err as Error)?.message ?? String(err)}`);
    return { type: 'Rlerror', tag: msg.tag, ecode: errnoOf(err) };
  }

  /** Runs `msg` again once the bytes it waited for are cached (it changed nothing when it threw). */
  private async later(msg: TMessage, pending: PendingIO): Promise<Uint8Array> {
    // The request buffer may be reused once we return: keep what the message views of it.
    if (msg.type === 'Twrite') msg = { ...msg, data: msg.data.slice() };
    this.trace?.(`9p .. ${msg.type} tag ${msg.tag} waits for the content store`);
    let reply: RMessage;
    try {
      reply = await retryAfterIO(() => this.dispatch(msg), pending);
    } catch (err) {
      reply = this.failed(msg, err);
    }
    return this.reply(reply);
  }

  private reply(reply: RMessage): Uint8Array {
    this.trace?.(`9p -> ${describe(reply)}`);
    try {
      return encode(reply);
    } catch (err) {
      // A reply the wire cannot carry (say, a readlink target over 64 KiB) is the server's EIO.
      this.trace?.(`9p !! encoding ${reply.type}: ${(err as Error).message}`);
      return encode({ type: 'Rlerror', tag: reply.tag, ecode: Errno.EIO });
    }
  }

  private dispatch(msg: TMessage): RMessage {
    if (msg.type === 'Tversion') return this.version(msg);
    if (!this.negotiated) throw fsError('EPROTO', `${msg.type} before Tversion`);
    switch (msg.type) {
      case 'Tauth': throw fsError('EOPNOTSUPP', 'no authentication: attach with afid NOFID');
      case 'Tattach': return this.attach(msg);
      // Nothing waits under oldtag (respond() holds Rflush back behind a reply still to come).
      case 'Tflush': return { type: 'Rflush', tag: msg.tag };
      case 'Twalk': return ns.walk(this, msg);
      case 'Tgetattr': return io.getattr(this, msg);
      case 'Tsetattr': return io.setattr(this, msg);
      case 'Tlopen': return io.lopen(this, msg);
      case 'Tlcreate': return io.lcreate(this, msg);
      case 'Tread': return io.read(this, msg);
      case 'Twrite': return io.write(this, msg);
      case 'Treaddir': return io.readdir(this, msg);
      case 'Treadlink': return io.readlink(this, msg);
      case 'Tstatfs': return io.statfs(this, msg);
      case 'Tfsync': return io.fsync(this, msg);
      case 'Tmkdir': return ns.mkdir(this, msg);
      case 'Tmknod': return ns.mknod(this, msg);
      case 'Tsymlink': return ns.symlink(this, msg);
      case 'Tlink': return ns.link(this, msg);
      case 'Trename': return ns.rename(this, msg);
      case 'Trenameat': return ns.renameat(this, msg);
      case 'Tunlinkat': return ns.unlinkat(this, msg);
      case 'Tremove': return ns.remove(this, msg, (fid) => this.clunkFid(fid));
      case 'Txattrwalk': return xattrwalk(this, msg);
      case 'Txattrcreate': return xattrcreate(this, msg);
      case 'Tlock': return this.lock(msg);
      case 'Tgetlock': return this.getlock(msg);
      case 'Tclunk': this.clunkFid(this.fids.get(msg.fid)); return { type: 'Rclunk', tag: msg.tag };
    }
  }

  /** Tversion starts a new session: every fid and lock of the old one is gone. */
  private version(msg: Tversion): Rversion {
    for (const fid of [...this.fids.values()]) this.fids.delete(fid.id);
    for (const exp of this.exports.values()) exp.locks.clear();
    if (msg.msize < MIN_MSIZE) throw fsError('EINVAL', `msize ${msg.msize} is below ${MIN_MSIZE}`);
    const ok = msg.version === VERSION_9P2000_L || msg.version.startsWith(`${VERSION_9P2000_L}.`);
    this.negotiated = ok ? Math.min(msg.msize, this.maxMsize) : 0;
    return { type: 'Rversion', tag: msg.tag, msize: Math.min(msg.msize, this.maxMsize), version: ok ? VERSION_9P2000_L : 'unknown' };
  }

  /**
   * aname picks the export; an empty aname (with no export named "") gets the read-only directory
   * of export names, the guest agent's single mount. The owner of what the fid creates is n_uname
   * (or uname "root"/a number, else nobody).
   */
  private attach(msg: Tattach): Rattach {
    if (msg.afid !== NOFID) throw fsError('EINVAL', 'attach with an afid: this server has no authentication');
    const exp = this.exports.get(msg.aname) ?? (msg.aname === '' ? this.exportsRoot : undefined);
    if (!exp) throw fsError('ENOENT', `no export named "${msg.aname}"`);
    let uid = msg.nUname;
    if (uid === NONUNAME) uid = msg.uname === 'root' ? 0 : /^\d+$/.test(msg.uname) ? Number(msg.uname) : 65534;
    const root = exp.fs.root();
    this.fids.add({ id: msg.fid, exp, node: root, path: [], uid, openFlags: null });
    return { type: 'Rattach', tag: msg.tag, qid: qidOf(exp.fs.stat(root), exp.serial) };
  }

  /** Clunk: the fid is gone whatever happens; an xattrcreate fid applies its value first. */
  private clunkFid(fid: Fid): void {
    this.fids.delete(fid.id);
    fid.exp.locks.releaseFid(fid.id);
    commitXattr(fid);
  }

  private lock(msg: Tlock): Rlock {
    const fid = nodeFid(this, msg.fid);
    if (msg.lockType > LockType.UNLCK) throw fsError('EINVAL', `lock type ${msg.lockType}`);
    const ok = fid.exp.locks.set(fid.node.ino, { ...msg, fid: fid.id });
    return { type: 'Rlock', tag: msg.tag, status: ok ? LockStatus.SUCCESS : LockStatus.BLOCKED };
  }

  private getlock(msg: Tgetlock): Rgetlock {
    const fid = nodeFid(this, msg.fid);
    if (msg.lockType > LockType.UNLCK) throw fsError('EINVAL', `lock type ${msg.lockType}`);
    const held = fid.exp.locks.test(fid.node.ino, { ...msg, fid: fid.id });
    if (!held) return { type: 'Rgetlock', tag: msg.tag, lockType: LockType.UNLCK, start: msg.start, length: msg.length, procId: msg.procId, clientId: msg.clientId };
    return {
      type: 'Rgetlock', tag: msg.tag, lockType: held.type, start: held.start,
      length: held.end === Infinity ? 0 : held.end - held.start, procId: held.procId, clientId: held.clientId,
    };
  }

  /** JSON-able fid table, msize and locks, to store beside a VM snapshot. */
  saveState(): P9ServerState {
    return saveFids(this.fids, this.negotiated, this.exports, this.sharedFiles);
  }

  /**
   * Replaces the fid table with a saved one. The exports it names must have been added (same
   * names); fids whose path no longer resolves stay allocated but answer ENOENT.
   */
  restoreState(state: P9ServerState): void {
    this.negotiated = restoreFids(state, this.fids, this.exports, this.exportsRoot, this.sharedFiles);
    this.nextSerial = Math.max(this.nextSerial, ...[...this.exports.values()].map((e) => e.serial + 1));
  }
}

function errnoOf(err: unknown): number {
  if (err instanceof FsError) return err.errno;
  if (err instanceof P9DecodeError) return err.errno;
  return Errno.EIO;
}
