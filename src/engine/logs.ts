/**
 * Container logs, appended: each output chunk is one record `e<seq>` ([u8 stream][f64 time][bytes])
 * in the snapshot store under `logs/<container id>`. The owning process keeps the newest
 * `LOG_LIMIT` bytes in memory for its readers and followers, and writes what is new every
 * `flushMs` (and at exit) as one batch: the new records plus deletes of those that fell out of the
 * limit. A save costs what was written since the last one, never the whole log, and readers in
 * other processes (`skiff logs`) see new output within ~`flushMs` however long the log has run.
 */
import type { EngineContext } from './context.ts';
import { collectBlobs } from './images.ts';
import { fromBase64 } from '../util/base64.ts';
import type { RecordOp, SnapshotWriter } from './snapshots/store.ts';
import type { ContainerRecord } from './types.ts';

export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

/** Output kept per container; the oldest entries go past this, as with Docker's local log limits. */
export const LOG_LIMIT = 8 << 20;

export const logsSnapshot = (id: string): string => `logs/${id}`;

export interface ContainerLogOptions {
  flushMs?: number;
  limit?: number;
}

export class ContainerLog {
  /** Kept entries are [#head, length): dropping the oldest moves #head, not the array (shift is O(n)). */
  readonly #entries: LogEntry[] = [];
  #head = 0;
  /** Followers (`logs -f` over the control channel). */
  readonly listeners = new Set<(e: LogEntry) => void>();
  readonly #seqs: number[] = [];
  readonly #writer: SnapshotWriter;
  readonly #flushMs: number;
  readonly #limit: number;
  /** What the next save writes: record key -> bytes, or null to delete. */
  #pending = new Map<string, Uint8Array | null>();
  #next = 0;
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(writer: SnapshotWriter, o: ContainerLogOptions) {
    this.#writer = writer;
    this.#flushMs = o.flushMs ?? 250;
    this.#limit = o.limit ?? LOG_LIMIT;
  }

  /** Becomes the writer of the container's log; earlier runs' output is kept (as Docker's restart does). */
  static async open(ctx: EngineContext, rec: ContainerRecord, o: ContainerLogOptions = {}): Promise<ContainerLog> {
    const writer = await ctx.snapshots.open(logsSnapshot(rec.id));
    const log = new ContainerLog(writer, o);
    const stored = fromRecords(writer.records);
    for (const { seq, entry } of stored) log.#keep(seq, entry);
    log.#next = (stored.at(-1)?.seq ?? -1) + 1;
    if (stored.length === 0 && rec.logs?.digest) {
      // Saved by an older skiff as one blob: carried over into records on the first save.
      for (const e of decodeLogs(await ctx.content.get(rec.logs.digest))) log.#append(e);
    }
    return log;
  }

  push(stream: LogEntry['stream'], data: Uint8Array): void {
    const entry = { time: new Date().toISOString(), stream, data: data.slice() };
    this.#append(entry);
    for (const l of this.listeners) l(entry);
  }

  /** The entries kept (oldest first), for readers in this process; a copy. */
  get entries(): LogEntry[] {
    return this.#entries.slice(this.#head);
  }

  /** Bytes of output kept. */
  get size(): number {
    return this.#bytes;
  }

  /** Writes what is new; resolves once it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    const run = this.#chain.then(() => (batch.size ? this.#writer.commit(ops(batch)) : undefined));
    this.#chain = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      await this.#writer.close();
    }
  }

  #append(entry: LogEntry): void {
    const seq = this.#next++;
    this.#keep(seq, entry);
    this.#pending.set(`e${seq}`, encodeEntry(entry));
    while (this.#bytes > this.#limit && this.#entries.length - this.#head > 1) {
      const old = this.#seqs[this.#head]!;
      this.#bytes -= this.#entries[this.#head]!.data.byteLength;
      this.#head++;
      const key = `e${old}`;
      // Never stored: nothing to delete. Stored: delete it in the same batch as the new ones.
      if (this.#pending.get(key)) this.#pending.delete(key);
      else this.#pending.set(key, null);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#seqs.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => void this.flush().catch(() => {}), this.#flushMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #keep(seq: number, entry: LogEntry): void {
    this.#entries.push(entry);
    this.#seqs.push(seq);
    this.#bytes += entry.data.byteLength;
  }
}

/**
 * At exit: stores what is left of the log, gives up being its writer, and applies `patch` to the
 * record (which keeps only the log's size) in one transaction.
 */
export async function saveLogs(ctx: EngineContext, id: string, log: ContainerLog, patch: (cur: ContainerRecord) => Partial<ContainerRecord>): Promise<void> {
  await log.close();
  await ctx.state.transaction(async (tx) => {
    const cur = await tx.get<ContainerRecord>('containers', id);
    if (!cur) return;
    await tx.put('containers', id, { ...cur, ...patch(cur), logs: { size: log.size } } satisfies ContainerRecord);
    if (cur.logs?.digest) await collectBlobs(ctx, tx, [cur.logs.digest]);
  });
}

/** A container's log as stored, from any process (what the owner saved last). */
export async function readLogs(ctx: EngineContext, rec: ContainerRecord): Promise<LogEntry[]> {
  const stored = fromRecords(await ctx.snapshots.read(logsSnapshot(rec.id)));
  if (stored.length === 0 && rec.logs?.digest) return decodeLogs(await ctx.content.get(rec.logs.digest));
  return stored.map((s) => s.entry);
}

function* ops(batch: Map<string, Uint8Array | null>): Generator<RecordOp> {
  for (const [key, value] of batch) yield { key, value };
}

function fromRecords(records: ReadonlyMap<string, Uint8Array>): Array<{ seq: number; entry: LogEntry }> {
  const out: Array<{ seq: number; entry: LogEntry }> = [];
  for (const [key, value] of records) if (key[0] === 'e' && value.length >= 9) out.push({ seq: Number(key.slice(1)), entry: decodeEntry(value) });
  return out.sort((a, b) => a.seq - b.seq);
}

function encodeEntry(e: LogEntry): Uint8Array {
  const out = new Uint8Array(9 + e.data.byteLength);
  out[0] = e.stream === 'stderr' ? 1 : 0;
  new DataView(out.buffer).setFloat64(1, Date.parse(e.time), true);
  out.set(e.data, 9);
  return out;
}

function decodeEntry(b: Uint8Array): LogEntry {
  const ms = new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(1, true);
  return { stream: b[0] === 1 ? 'stderr' : 'stdout', time: new Date(ms).toISOString(), data: b.subarray(9) };
}

/** The format of logs saved by skiff before this store: one blob of JSON lines {t, s, d(base64)}. */
export function decodeLogs(blob: Uint8Array): LogEntry[] {
  return new TextDecoder().decode(blob).split('\n').filter(Boolean).map((l) => {
    const o = JSON.parse(l) as { t: string; s: LogEntry['stream']; d: string };
    return { time: o.t, stream: o.s, data: fromBase64(o.d) };
  });
}
