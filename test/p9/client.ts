/** A minimal 9P client for tests: encodes requests, runs them through P9Server.handle, decodes replies. */
import { decode, decodeDirents, encode } from '../../src/p9/codec.ts';
import { NOFID, type Dirent, type MessageOf, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { P9Server, type P9ServerOptions } from '../../src/p9/server.ts';
import { dir, file, symlink } from '../fs/helpers.ts';

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<TMessage, 'tag'>;

/** The reply type for a request type: Tfoo -> Rfoo. */
type ReplyOf<T extends TMessage['type']> = MessageOf<`R${T extends `T${infer N}` ? N : never}` & RMessage['type']>;

export class Rlerror extends Error {
  constructor(readonly errno: number, what: string) {
    super(`${what} -> Rlerror ${errno}`);
  }
}

export class TestClient {
  private tag = 1;
  constructor(readonly server: P9Server) {}

  /** Sends a request; returns the reply or throws Rlerror. */
  call<R extends Request>(req: R): ReplyOf<R['type']> {
    const reply = this.raw({ ...req, tag: this.tag } as TMessage);
    this.tag = (this.tag % 0xfffe) + 1;
    if (reply.type === 'Rlerror') throw new Rlerror(reply.ecode, req.type);
    const want = `R${req.type.slice(1)}`;
    if (reply.type !== want) throw new Error(`${req.type}: expected ${want}, got ${reply.type}`);
    return reply as ReplyOf<R['type']>;
  }

  raw(msg: TMessage): RMessage {
    return decode(this.server.handle(encode(msg))) as RMessage;
  }

  /** The errno a request fails with (fails the test if it succeeds). */
  errno(req: Request): number {
    try {
      this.call(req);
    } catch (err) {
      if (err instanceof Rlerror) return err.errno;
      throw err;
    }
    throw new Error(`${req.type} succeeded`);
  }

  version(msize = 131072): number {
    return this.call({ type: 'Tversion', msize, version: '9P2000.L' }).msize;
  }

  attach(fid: number, aname = '', nUname = 0) {
    return this.call({ type: 'Tattach', fid, afid: NOFID, uname: 'root', aname, nUname });
  }

  walk(fid: number, newfid: number, path: string) {
    return this.call({ type: 'Twalk', fid, newfid, wnames: path.split('/').filter((s) => s !== '') });
  }

  readAll(fid: number, chunk = 65536): Uint8Array {
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const r = this.call({ type: 'Tread', fid, offset, count: chunk });
      if (r.data.length === 0) break;
      parts.push(r.data.slice());
      offset += r.data.length;
    }
    const out = new Uint8Array(offset);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  /** Reads a whole directory in pages of `count` bytes, following the cookies. */
  readdirAll(fid: number, count = 8192): { entries: Dirent[]; pages: number } {
    const entries: Dirent[] = [];
    let offset = 0;
    let pages = 0;
    for (;;) {
      const r = this.call({ type: 'Treaddir', fid, offset, count });
      const page = decodeDirents(r.data);
      if (page.length === 0) break;
      pages++;
      entries.push(...page);
      offset = page[page.length - 1]!.offset;
    }
    return { entries, pages };
  }
}


/** Deterministic PRNG (mulberry32), so a failing fuzz case reproduces from its seed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** qid.path of inode `ino` in the export with this serial (the first export added is 1). */
export const qpath = (ino: number, serial = 1) => serial * 2 ** 32 + 2 ** 31 + ino;

/** What a 32-bit Linux guest makes of a qid.path as st_ino (v9fs_qid2ino on i386: fold path + 2). */
export const guestIno = (path: number) => (((path + 2) % 2 ** 32) ^ Math.floor((path + 2) / 2 ** 32)) >>> 0;

/** A small image-like lower layer. */
export function lowerTree() {
  return applyLayer(null, [
    dir('etc'),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
    file('etc/hostname', 'lower\n'),
    dir('bin'),
    file('bin/busybox', 'ELF...', { mode: 0o755 }),
    symlink('bin/sh', 'busybox'),
    dir('usr'), dir('usr/share'), dir('usr/share/doc'),
  ]);
}

/** Overlay over lowerTree(), exported as "rootfs", versioned and attached as fid 0. */
export function setup(options: P9ServerOptions = {}) {
  const fs = new Overlay({ lower: lowerTree(), now: () => 1_700_000_000_000 });
  const server = new P9Server({ now: () => 1_750_000_000_000, ...options });
  server.addExport('rootfs', fs);
  const c = new TestClient(server);
  c.version();
  c.attach(0, 'rootfs');
  return { fs, server, c };
}
