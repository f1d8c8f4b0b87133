import { concatBytes } from '../../util/bytes.ts';
import { StdinGate } from '../stdin-gate.ts';

/** What a caller can give as stdin, read on demand in pieces of at most `max` bytes. */
export type StdinSource = Uint8Array | string | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export class StdinReader {
  private buf: Uint8Array = new Uint8Array();
  private iter: AsyncIterator<Uint8Array> | null = null;
  private done = false;

  constructor(source: StdinSource | undefined) {
    if (source === undefined) this.done = true;
    else if (typeof source === 'string') this.buf = new TextEncoder().encode(source);
    else if (source instanceof Uint8Array) this.buf = source;
    else if (isReadableStream(source)) this.iter = readerIterator(source);
    else this.iter = source[Symbol.asyncIterator]();
    if (!this.iter) this.done = true;
  }

  /** Up to `max` bytes; waits for input; empty at end of input. */
  async read(max: number): Promise<Uint8Array> {
    while (this.buf.length === 0 && !this.done && this.iter) {
      const r = await this.iter.next();
      if (r.done) this.done = true;
      else this.buf = r.value;
    }
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Everything left (the inline runner cannot wait mid-run). */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const p = await this.read(1 << 20);
      if (p.length === 0) break;
      parts.push(p.slice());
    }
    return concatBytes(parts);
  }

  /** Stop pulling from the source (the run ended). */
  async close(): Promise<void> {
    this.done = true;
    await this.iter?.return?.();
  }
}

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return typeof (x as ReadableStream).getReader === 'function';
}

function readerIterator(s: ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  const reader = s.getReader();
  return {
    async next() {
      const r = await reader.read();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    },
    async return() {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/**
 * A stdin the caller writes to (`docker run -i` attached): an async iterable fed by `push`/`end`.
 * `push` returns a promise while STDIN_HIGH_WATER bytes wait for the module to read them
 * (RuntimeProcess.writeStdin's contract, runtime/stdin-gate.ts).
 */
export class StdinQueue implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly gate = new StdinGate();

  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.ended || chunk.length === 0) return undefined;
    this.gate.admit();
    this.chunks.push(chunk.slice());
    this.bytes += chunk.length;
    this.wake?.();
    return this.gate.update(this.bytes);
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The module is gone: what waits is dropped and writers are released. */
  abandon(): void {
    this.chunks = [];
    this.bytes = 0;
    this.end();
    this.gate.finish();
  }

  /** Bytes pushed that the module has not read yet. */
  get queued(): number {
    return this.bytes;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.chunks.shift();
      if (next) {
        this.bytes -= next.length;
        this.gate.update(this.bytes);
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}
