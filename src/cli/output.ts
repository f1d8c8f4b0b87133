/**
 * A container's output to this process's stdout/stderr. Two things Docker's CLI gets right:
 * - Backpressure: a write the stream cannot take yet returns a promise that settles on 'drain'
 *   (a runtime that awaits ProcessIO's return value stops producing meanwhile), and what waits
 *   in the stream is bounded: past `limit` bytes a chunk waits for the previous drain before it
 *   is written, so `skiff run ... yes | slow-reader` does not grow memory without end.
 * - A closed pipe (`| head`) is not a crash: EPIPE marks the output broken, later writes are
 *   dropped, and `onBroken` (kill the container) runs once; the command then exits quietly.
 */
import type { ProcessIO } from '../runtime/types.ts';

export type OutStream = NodeJS.WritableStream & { writableLength?: number; writableNeedDrain?: boolean };

/** Bytes allowed to wait in a stream's buffer before a write waits for 'drain'. */
export const OUTPUT_LIMIT = 1 << 20;

export class ContainerOutput {
  broken = false;
  readonly #streams: OutStream[];
  readonly #undo: Array<() => void> = [];
  #onBroken: () => void;
  /** Writes that arrived while the stream was over its limit, in order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(readonly stdout: OutStream, readonly stderr: OutStream, onBroken: () => void = () => {}, readonly limit = OUTPUT_LIMIT) {
    this.#onBroken = onBroken;
    this.#streams = [stdout, stderr];
    for (const s of new Set(this.#streams)) {
      const onError = (err: NodeJS.ErrnoException) => this.#fail(err);
      s.on('error', onError);
      this.#undo.push(() => s.off('error', onError));
    }
  }

  /** Replace what happens on a closed pipe (set once the container exists). */
  set onBroken(fn: () => void) {
    this.#onBroken = fn;
    if (this.broken) fn();
  }

  io(): ProcessIO {
    return { onStdout: (c) => this.write(this.stdout, c), onStderr: (c) => this.write(this.stderr, c) };
  }

  /** Resolves once the stream can take more (at once when it can). */
  write(stream: OutStream, chunk: Uint8Array): Promise<void> {
    if (this.broken) return Promise.resolve();
    if ((stream.writableLength ?? 0) <= this.limit) return this.#put(stream, chunk);
    // Over the limit: wait for the stream to drain, keeping the order of what follows.
    this.#queue = this.#queue.then(() => this.#drained(stream)).then(() => this.#put(stream, chunk));
    return this.#queue;
  }

  #put(stream: OutStream, chunk: Uint8Array): Promise<void> {
    if (this.broken) return Promise.resolve();
    try {
      if (stream.write(chunk)) return Promise.resolve();
    } catch (err) {
      this.#fail(err as NodeJS.ErrnoException);
      return Promise.resolve();
    }
    return this.#drained(stream);
  }

  /** One waiter per stream, however many writes wait on it. */
  readonly #drains = new Map<OutStream, Promise<void>>();

  #drained(stream: OutStream): Promise<void> {
    if (this.broken || !(stream.writableNeedDrain ?? (stream.writableLength ?? 0) > 0)) return Promise.resolve();
    let p = this.#drains.get(stream);
    if (!p) {
      p = new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done); stream.off('close', done); stream.off('error', done);
          this.#drains.delete(stream);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
        stream.on('error', done);
      });
      this.#drains.set(stream, p);
    }
    return p;
  }

  #fail(err: NodeJS.ErrnoException): void {
    if (this.broken) return;
    this.broken = true;
    void err; // EPIPE, or any other write error: the reader is gone either way
    this.#onBroken();
  }

  close(): void {
    for (const u of this.#undo.splice(0)) u();
  }
}
