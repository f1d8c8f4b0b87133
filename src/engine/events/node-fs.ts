/**
 * The events of a skiff home on Node: `events.jsonl` (and the generation before it,
 * `events.jsonl.1`) in `<home>/events/`, appended by every skiff process (the CLI, `-d` keepers,
 * `system serve`). Each event is one line written with one write(2) on an O_APPEND descriptor and
 * kept under PIPE_BUF (4096 bytes), so concurrent appenders never interleave partial lines.
 * Bounded: past `maxBytes` the file is renamed to `.1` (the older `.1` goes), under a lock
 * directory so two processes do not both rotate. Readers tail the file by polling, following a
 * rotation through the renamed generation.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEvent, EventJournal, JournalCursor } from './types.ts';

const PIPE_BUF = 4096;
/** Attributes kept when an event's labels would push it past PIPE_BUF. */
const CORE = new Set(['name', 'image', 'exitCode', 'signal', 'container', 'driver', 'type', 'execID', 'destination', 'oldName']);

interface Cursor { ino: number; offset: number }

export interface NodeFsEventJournalOptions {
  /** Directory of the log (created 0700). */
  dir: string;
  /** Size past which the file rotates (default 1 MiB: two generations keep ~10k events). */
  maxBytes?: number;
  /** How often followers look for new lines (ms, default 100). */
  pollMs?: number;
}

export class NodeFsEventJournal implements EventJournal {
  readonly #dir: string;
  readonly #path: string;
  readonly #old: string;
  readonly #max: number;
  readonly #pollMs: number;
  readonly #pokes = new Set<() => void>();

  constructor(o: NodeFsEventJournalOptions) {
    this.#dir = o.dir;
    this.#path = join(o.dir, 'events.jsonl');
    this.#old = `${this.#path}.1`;
    this.#max = o.maxBytes ?? 1 << 20;
    this.#pollMs = o.pollMs ?? 100;
  }

  append(e: EngineEvent): void {
    try {
      const line = encodeLine(e);
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      const fd = openSync(this.#path, 'a', 0o600);
      let size: number;
      try {
        writeSync(fd, line);
        size = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
      if (size > this.#max) this.#rotate();
    } catch {
      // An event that cannot be written is lost; the operation it reports stands.
    }
    for (const p of this.#pokes) p();
  }

  /** `.jsonl` becomes `.jsonl.1`, by one process at a time, only if it is still over the bound. */
  #rotate(): void {
    const lock = join(this.#dir, 'events.lock');
    try {
      mkdirSync(lock);
    } catch {
      // Another process rotates; a lock left by a killed one is broken after 10 s.
      try { if (Date.now() - statSync(lock).mtimeMs > 10_000) rmdirSync(lock); } catch { /* gone meanwhile */ }
      return;
    }
    try {
      if (statSync(this.#path).size > this.#max) renameSync(this.#path, this.#old);
    } finally {
      rmdirSync(lock);
    }
  }

  async read(): Promise<{ events: EngineEvent[]; end: JournalCursor }> {
    const events: EngineEvent[] = [];
    const oldText = readFrom(this.#old, 0);
    if (oldText) events.push(...parseLines(oldText.bytes, oldText.bytes.lastIndexOf(10) + 1));
    const cur = readFrom(this.#path, 0);
    if (!cur) return { events, end: { ino: 0, offset: 0 } satisfies Cursor };
    const complete = cur.bytes.lastIndexOf(10) + 1;
    events.push(...parseLines(cur.bytes, complete));
    return { events, end: { ino: cur.ino, offset: complete } satisfies Cursor };
  }

  async end(): Promise<JournalCursor> {
    try {
      const st = statSync(this.#path);
      // A line being written right now is read by the follower (it starts at a line boundary).
      return { ino: st.ino, offset: st.size } satisfies Cursor;
    } catch {
      return { ino: 0, offset: 0 } satisfies Cursor;
    }
  }

  follow(from: JournalCursor, onEvent: (e: EngineEvent) => void): () => void {
    let at = { ...(from as Cursor) };
    let carry = new Uint8Array(0);
    const take = (bytes: Uint8Array) => {
      const all = carry.length ? concat(carry, bytes) : bytes;
      const complete = all.lastIndexOf(10) + 1;
      for (const e of parseLines(all, complete)) onEvent(e);
      carry = all.slice(complete);
    };
    const poll = () => {
      let st;
      try {
        st = statSync(this.#path);
      } catch {
        return;
      }
      if (st.ino !== at.ino) {
        // Rotated since: the rest of our generation is in `.1` (if it is still that one).
        if (at.ino !== 0) {
          const rest = readFrom(this.#old, at.offset);
          if (rest && rest.ino === at.ino) take(rest.bytes);
        }
        carry = new Uint8Array(0);
        at = { ino: st.ino, offset: 0 };
      }
      if (st.size < at.offset) at.offset = 0;
      if (st.size === at.offset) return;
      const got = readFrom(this.#path, at.offset);
      if (!got || got.ino !== at.ino) return;
      at.offset += got.bytes.length;
      take(got.bytes);
    };
    const timer = setInterval(poll, this.#pollMs);
    // This process's own appends are seen at once.
    const poke = () => void setImmediate(poll);
    this.#pokes.add(poke);
    poll();
    return () => {
      clearInterval(timer);
      this.#pokes.delete(poke);
    };
  }
}

/** One JSON line under PIPE_BUF: labels dropped, then long values cut, if need be. */
export function encodeLine(e: EngineEvent): Buffer {
  let line = Buffer.from(`${JSON.stringify(e)}\n`);
  if (line.length <= PIPE_BUF) return line;
  const core = Object.fromEntries(Object.entries(e.Actor.Attributes).filter(([k]) => CORE.has(k)).map(([k, v]) => [k, v.slice(0, 256)]));
  line = Buffer.from(`${JSON.stringify({ ...e, Action: e.Action.slice(0, 512), Actor: { ID: e.Actor.ID.slice(0, 256), Attributes: core } })}\n`);
  return line;
}

function readFrom(path: string, offset: number): { bytes: Uint8Array; ino: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const n = Math.max(0, st.size - offset);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return { bytes: buf.subarray(0, got), ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** The events in `bytes[0, end)`; a line that is not an event (a torn write after a crash) is skipped. */
function parseLines(bytes: Uint8Array, end: number): EngineEvent[] {
  const out: EngineEvent[] = [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as EngineEvent;
      if (e && typeof e.Type === 'string' && typeof e.timeNano === 'number') out.push(e);
    } catch {
      // skipped
    }
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
