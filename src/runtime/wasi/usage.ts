/**
 * A wasm container's resource use for `stats`, kept where both threads see it: the module's
 * thread (its worker, or the caller inline) writes, the caller reads, in a shared buffer of three
 * float64s. CPU time is the time the module's thread spent running, not waiting on the caller
 * (stdin, filesystem calls, output backpressure, sleep): a busy module counts all of its wall
 * time, one blocked on `read` none. Memory is its linear memory, sampled at start and at each WASI
 * call (wasm memory never shrinks, so the last sample is a floor of the current size).
 */

const RUN_MS = 0;
const RUNNING_SINCE = 1;
const MEMORY = 2;
export const USAGE_BYTES = 3 * 8;

/** Milliseconds since the epoch: one clock for both threads (performance.now() is per thread). */
const wall = (): number => performance.timeOrigin + performance.now();

/** The module's side. */
export class UsageMeter {
  readonly #f: Float64Array;
  #memory: WebAssembly.Memory | undefined;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    this.#f = new Float64Array(buffer, 0, 3);
  }

  /** The module's memory, sampled from now on. */
  watch(memory: WebAssembly.Memory): void {
    this.#memory = memory;
    this.#f[MEMORY] = memory.buffer.byteLength;
  }

  /** The memory's size now (at each WASI call). */
  sample(): void {
    if (this.#memory) this.#f[MEMORY] = this.#memory.buffer.byteLength;
  }

  /** The thread runs the module (from start, and after each wait). */
  resume(): void {
    if (this.#f[RUNNING_SINCE] === 0) this.#f[RUNNING_SINCE] = wall();
  }

  /** The thread is about to wait on the caller. */
  pause(): void {
    const since = this.#f[RUNNING_SINCE]!;
    if (since !== 0) {
      this.#f[RUN_MS] = this.#f[RUN_MS]! + (wall() - since);
      this.#f[RUNNING_SINCE] = 0;
    }
    if (this.#memory) this.#f[MEMORY] = this.#memory.buffer.byteLength;
  }

  /** Around a blocking call. */
  blocked<T>(f: () => T): T {
    this.pause();
    try {
      return f();
    } finally {
      this.resume();
    }
  }
}

/** The caller's reading: CPU milliseconds so far (the running stretch included) and memory bytes. */
export function readUsage(buffer: SharedArrayBuffer | ArrayBuffer): { cpuMs: number; memoryBytes: number } {
  const f = new Float64Array(buffer, 0, 3);
  const since = f[RUNNING_SINCE]!;
  return { cpuMs: f[RUN_MS]! + (since !== 0 ? Math.max(0, wall() - since) : 0), memoryBytes: f[MEMORY]! };
}
