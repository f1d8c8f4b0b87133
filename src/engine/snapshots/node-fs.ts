/**
 * Snapshots on a Node filesystem: <root>/<encoded key>/journal.<generation>, an append-only log
 * of batches, and <root>/<encoded key>/owner/, the writer's lock (state/dir-lock.ts: a killed
 * writer's lock is taken over at once, a live one's refused).
 *
 * A batch is one or more frames `[u32 length][u32 crc32][u8 more][ops]`; only a frame with
 * more=0 completes it, and the writer fdatasyncs before `commit` resolves. Replay stops at the
 * first torn or corrupt frame and drops an incomplete batch, so a process killed mid-write loses
 * at most the batch in flight. Frames are at most ~4 MiB: a huge batch never sits in one buffer.
 *
 * When the journal has grown to twice what is live (plus 16 MiB), the writer copies the live
 * records into journal.<n+1> (temp name, fsync, rename, directory fsync) and deletes the old one:
 * occasional work in proportion to the writes since the last compaction.
 */
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as zlib from 'node:zlib';
import { SkiffError } from '../../errors.ts';
import { fsyncDir } from '../../util/fsync-dir.ts';
import { DirLock } from '../state/dir-lock.ts';
import { decodeKey, encodeKey } from '../state/store.ts';
import type { RecordOp, SnapshotKey, SnapshotStore, SnapshotWriter } from './store.ts';

export interface NodeFsSnapshotOptions {
  /** Directory holding one directory per snapshot (e.g. $SKIFF_HOME/layers). */
  root: string;
  /** Frame size bound; tests make it small. */
  frameBytes?: number;
}

const HEADER = 9;
const PUT = 1;
const DEL = 2;
const MAX_FRAME = 64 << 20;
const JOURNAL = /^journal\.(\d+)$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class NodeFsSnapshotStore implements SnapshotStore {
  readonly kind = 'node-fs' as const;
  readonly root: string;
  readonly id: string;
  readonly #frameBytes: number;

  constructor(o: NodeFsSnapshotOptions) {
    this.root = o.root;
    this.id = `node-fs:${resolve(o.root)}`;
    this.#frameBytes = o.frameBytes ?? 4 << 20;
  }

  #dir(key: SnapshotKey): string {
    return join(this.root, encodeKey(key));
  }

  #lock(key: SnapshotKey): DirLock {
    return new DirLock({ dir: join(this.#dir(key), 'owner'), what: key });
  }

  async open(key: SnapshotKey): Promise<SnapshotWriter> {
    const dir = this.#dir(key);
    const held = await own(this.#lock(key), key);
    try {
      const gens = await journals(dir);
      const gen = gens.at(-1) ?? 0;
      // Older generations are leftovers of a compaction killed after its rename; temp files of one killed before.
      for (const g of gens.slice(0, -1)) await rm(join(dir, `journal.${g}`), { force: true });
      for (const n of await readdir(dir)) if (n.startsWith('.tmp-')) await rm(join(dir, n), { force: true });
      const path = join(dir, `journal.${gen}`);
      const fh = await open(path, gens.length ? 'r+' : 'w+');
      if (!gens.length) await fsyncDir(dir);
      const r = await replay(fh);
      if (r.fileSize > r.end) await fh.truncate(r.end);
      return new JournalWriter(key, dir, gen, fh, r, held.release, this.#frameBytes);
    } catch (err) {
      await held.release().catch(() => {});
      throw storageError(err, `opening ${key}`);
    }
  }

  async read(key: SnapshotKey): Promise<Map<string, Uint8Array>> {
    const dir = this.#dir(key);
    for (let attempt = 0; ; attempt++) {
      const gen = (await journals(dir)).at(-1);
      if (gen === undefined) return new Map();
      let fh: FileHandle;
      try {
        fh = await open(join(dir, `journal.${gen}`), 'r');
      } catch (err) {
        // Compacted between the listing and the open: list again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw storageError(err, `reading ${key}`);
      }
      try {
        return (await replay(fh)).records;
      } finally {
        await fh.close();
      }
    }
  }

  async remove(key: SnapshotKey): Promise<void> {
    const dir = this.#dir(key);
    if ((await journals(dir)).length === 0 && !(await exists(dir))) return;
    await own(this.#lock(key), key);
    await rm(dir, { recursive: true, force: true });
    await fsyncDir(this.root).catch(() => {});
  }

  async list(): Promise<SnapshotKey[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => !n.startsWith('.')).map(decodeKey).sort();
  }

  async usage(key: SnapshotKey): Promise<number> {
    const gen = (await journals(this.#dir(key))).at(-1);
    if (gen === undefined) return 0;
    return (await stat(join(this.#dir(key), `journal.${gen}`)).catch(() => ({ size: 0 }))).size;
  }
}

interface Replayed {
  records: Map<string, Uint8Array>;
  index: Map<string, { off: number; len: number }>;
  end: number;
  fileSize: number;
}

class JournalWriter implements SnapshotWriter {
  readonly records: Map<string, Uint8Array>;
  #index: Map<string, { off: number; len: number }>;
  #live = 0;
  #bytes = 0;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly key: SnapshotKey,
    private readonly dir: string,
    private gen: number,
    private fh: FileHandle,
    r: Replayed,
    private readonly release: () => Promise<void>,
    private readonly frameBytes: number,
    private size = r.end,
  ) {
    this.records = r.records;
    this.#index = r.index;
    for (const [k, v] of this.#index) this.#live += k.length + v.len + 16;
    this.#bytes = this.#live - 16 * this.#index.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  commit(ops: Iterable<RecordOp>): Promise<void> {
    const run = this.#chain.then(() => this.#commit(ops));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #commit(ops: Iterable<RecordOp>): Promise<void> {
    if (this.#closed) throw new SkiffError('CONFLICT', `${this.key}: writing after close`);
    const start = this.size;
    try {
      const changes = await writeBatch(this.fh, start, ops, this.frameBytes);
      if (!changes) return;
      await this.fh.datasync();
      for (const [k, loc] of changes.index) {
        const old = this.#index.get(k);
        if (old) {
          this.#live -= k.length + old.len + 16;
          this.#bytes -= k.length + old.len;
        }
        if (loc) {
          this.#index.set(k, loc);
          this.#live += k.length + loc.len + 16;
          this.#bytes += k.length + loc.len;
        } else this.#index.delete(k);
      }
      this.size = changes.end;
    } catch (err) {
      // Cut the torn batch off, so the next batch does not append to its frames.
      await this.fh.truncate(start).catch(() => {});
      throw storageError(err, `writing ${this.key}`);
    }
    if (this.size > 2 * this.#live + (16 << 20)) await this.#compact();
  }

  async #compact(): Promise<void> {
    const next = this.gen + 1;
    const tmp = join(this.dir, `.tmp-journal.${next}`);
    const out = await open(tmp, 'w+');
    let moved;
    try {
      const old = this.fh;
      const index = this.#index;
      moved = await writeBatch(out, 0, (async function* () {
        for (const [key, loc] of index) yield { key, value: await readAt(old, loc) };
      })(), this.frameBytes);
      await out.sync();
    } catch (err) {
      await out.close().catch(() => {});
      await rm(tmp, { force: true });
      throw storageError(err, `compacting ${this.key}`);
    }
    await rename(tmp, join(this.dir, `journal.${next}`));
    await fsyncDir(this.dir);
    await this.fh.close();
    await rm(join(this.dir, `journal.${this.gen}`), { force: true });
    this.fh = out;
    this.gen = next;
    this.size = moved?.end ?? 0;
    this.#index = new Map([...(moved?.index ?? [])].map(([k, v]) => [k, v!]));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#chain;
    this.#closed = true;
    await this.fh.close().catch(() => {});
    await this.release();
  }
}

async function readAt(fh: FileHandle, loc: { off: number; len: number }): Promise<Uint8Array> {
  const buf = new Uint8Array(loc.len);
  const { bytesRead } = await fh.read(buf, 0, loc.len, loc.off);
  if (bytesRead !== loc.len) throw new Error(`short read at ${loc.off}`);
  return buf;
}

/** Writes `ops` as frames from `start`; null when there were none. */
async function writeBatch(fh: FileHandle, start: number, ops: Iterable<RecordOp> | AsyncIterable<RecordOp>, frameBytes: number): Promise<{ end: number; index: Map<string, { off: number; len: number } | null> } | null> {
  const index = new Map<string, { off: number; len: number } | null>();
  let pos = start;
  let parts: Uint8Array[] = [];
  let payload = 0;
  let any = false;
  const flush = async (more: boolean): Promise<void> => {
    // One buffer per frame (at most ~frameBytes): no iovec limits, one write call.
    const frame = new Uint8Array(HEADER + payload);
    let at = HEADER;
    for (const p of parts) {
      frame.set(p, at);
      at += p.length;
    }
    const view = new DataView(frame.buffer);
    view.setUint32(0, payload, true);
    view.setUint32(4, crc32(frame.subarray(HEADER), 0), true);
    frame[8] = more ? 1 : 0;
    for (let done = 0; done < frame.length; ) done += (await fh.write(frame, done, frame.length - done, pos + done)).bytesWritten;
    pos += frame.length;
    parts = [];
    payload = 0;
  };
  for await (const op of ops) {
    any = true;
    const key = enc.encode(op.key);
    const value = op.value;
    const head = new Uint8Array(1 + 4 + key.length + (value ? 4 : 0));
    const hv = new DataView(head.buffer);
    head[0] = value ? PUT : DEL;
    hv.setUint32(1, key.length, true);
    head.set(key, 5);
    if (value) hv.setUint32(5 + key.length, value.length, true);
    parts.push(head);
    payload += head.length;
    if (value) {
      index.set(op.key, { off: pos + HEADER + payload, len: value.length });
      parts.push(value);
      payload += value.length;
    } else index.set(op.key, null);
    if (payload >= frameBytes) await flush(true);
  }
  if (!any) return null;
  await flush(false);
  return { end: pos, index };
}

async function replay(fh: FileHandle): Promise<Replayed> {
  const fileSize = (await fh.stat()).size;
  const records = new Map<string, Uint8Array>();
  const index = new Map<string, { off: number; len: number }>();
  let pending: Array<[string, { off: number; len: number } | null, Uint8Array | null]> = [];
  let pos = 0;
  let end = 0;
  const header = new Uint8Array(HEADER);
  while (pos + HEADER <= fileSize) {
    await fh.read(header, 0, HEADER, pos);
    const view = new DataView(header.buffer);
    const len = view.getUint32(0, true);
    if (len > MAX_FRAME || pos + HEADER + len > fileSize || header[8]! > 1) break;
    const payload = new Uint8Array(len);
    const { bytesRead } = await fh.read(payload, 0, len, pos + HEADER);
    if (bytesRead !== len || crc32(payload, 0) !== view.getUint32(4, true)) break;
    const pv = new DataView(payload.buffer);
    let p = 0;
    let ok = true;
    while (p < len) {
      const type = payload[p]!;
      const klen = p + 5 <= len ? pv.getUint32(p + 1, true) : -1;
      if ((type !== PUT && type !== DEL) || klen < 0 || p + 5 + klen > len) { ok = false; break; }
      const key = dec.decode(payload.subarray(p + 5, p + 5 + klen));
      p += 5 + klen;
      if (type === DEL) {
        pending.push([key, null, null]);
        continue;
      }
      const vlen = p + 4 <= len ? pv.getUint32(p, true) : -1;
      if (vlen < 0 || p + 4 + vlen > len) { ok = false; break; }
      pending.push([key, { off: pos + HEADER + p + 4, len: vlen }, payload.slice(p + 4, p + 4 + vlen)]);
      p += 4 + vlen;
    }
    if (!ok) break;
    pos += HEADER + len;
    if (header[8] === 0) {
      for (const [k, loc, v] of pending) {
        if (loc) {
          index.set(k, loc);
          records.set(k, v!);
        } else {
          index.delete(k);
          records.delete(k);
        }
      }
      pending = [];
      end = pos;
    }
  }
  return { records, index, end, fileSize };
}

async function own(lock: DirLock, key: SnapshotKey): Promise<{ release: () => Promise<void> }> {
  for (let i = 0; i < 20; i++) {
    const got = await lock.tryAcquire();
    if ('release' in got) return got;
    if (got.holder) {
      const who = got.holder.pid === process.pid ? 'this skiff process' : `another skiff process (pid ${got.holder.pid})`;
      throw new SkiffError('CONFLICT', `${key.replace('/', ' ')} is in use by ${who}; one process at a time may write it`);
    }
  }
  throw new SkiffError('CONFLICT', `${key}: could not take ownership (contended)`);
}

async function journals(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.flatMap((n) => { const m = JOURNAL.exec(n); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let table: Uint32Array | undefined;
function crc32(data: Uint8Array, prev: number): number {
  if (nativeCrc) return nativeCrc(data, prev);
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function storageError(err: unknown, context: string): SkiffError {
  if (err instanceof SkiffError) return err;
  return new SkiffError('STORAGE', `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
