/**
 * Backpressure for a process's stdin on the host (RuntimeProcess.writeStdin). A runtime keeps
 * the bytes its process has not taken yet; past STDIN_HIGH_WATER a write returns a promise and
 * the writer stops reading its source (a socket, a terminal) until it settles, as a Node
 * Writable's write()/'drain'. A writer that ignores it gets an error once STDIN_QUEUED_MAX is
 * held, never unbounded memory. Sans-IO: the runtime reports what it holds with `update`.
 */
import { SkiffError } from '../errors.ts';

export const STDIN_HIGH_WATER = 256 << 10;
/** Past this a write is refused: its writer ignored the promises (one write may be any size). */
export const STDIN_QUEUED_MAX = 16 << 20;

export class StdinGate {
  private held = 0;
  private waiting: { promise: Promise<void>; resolve: () => void } | null = null;
  private open = true;

  /** Before taking a write: refuses one when the writer ignored the signal. */
  admit(): void {
    if (this.held >= STDIN_QUEUED_MAX) {
      throw new SkiffError('RUNTIME', `stdin: ${this.held} bytes not read by the process yet; the writer must wait for writeStdin's promise`);
    }
  }

  /** The runtime now holds `held` bytes; the result is what writeStdin returns. */
  update(held: number): Promise<void> | undefined {
    this.held = held;
    if (held < STDIN_HIGH_WATER || !this.open) {
      this.release();
      return undefined;
    }
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  /** Stdin closed or the process gone: writers never wait again (their bytes are dropped). */
  finish(): void {
    this.open = false;
    this.held = 0;
    this.release();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }
}

/** A source of stdin that can stop and go on: a socket, a Node Readable, a terminal's input. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
  destroy?(err?: Error): unknown;
}

/**
 * One chunk from `source` to a process's stdin (`write` calls writeStdin): while the runtime
 * says wait, `source` is paused. A refused write (the source kept going) ends the source.
 */
export function writeFrom(source: Pausable, write: () => void | Promise<void>): void {
  let wait: void | Promise<void>;
  try {
    wait = write();
  } catch (err) {
    source.destroy?.(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (!wait) return;
  source.pause();
  void wait.then(() => source.resume());
}
