/**
 * Host-to-guest flow control over the virtio console. v86 drops input when the guest has no
 * receive buffer posted, and Linux posts 4 KiB buffers, one per chunk we send. So bytes go out in
 * chunks of at most CHUNK, with at most MAX_CHUNKS / MAX_BYTES not yet acknowledged; the agent's
 * ACK frames (deltas of bytes it read) return the credit. Sans-IO: `sink` does the sending.
 */
export const CHUNK = 4096;
export const MAX_CHUNKS = 8;
export const MAX_BYTES = 32768;

export class CreditWriter {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private inflight: number[] = []; // sizes of unacknowledged chunks, oldest first
  private inflightBytes = 0;
  private headAcked = 0; // bytes of inflight[0] already acknowledged

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    this.pump();
  }

  /** The agent read `n` more bytes. */
  ack(n: number): void {
    let left = n;
    while (left > 0 && this.inflight.length > 0) {
      const rest = this.inflight[0]! - this.headAcked;
      if (left >= rest) {
        left -= rest;
        this.inflightBytes -= this.inflight.shift()!;
        this.headAcked = 0;
      } else {
        this.headAcked += left;
        left = 0;
      }
    }
    this.pump();
  }

  /** Forget in-flight accounting: after a snapshot restore the guest's buffers are as saved (all free). */
  reset(): void {
    this.inflight = [];
    this.inflightBytes = 0;
    this.headAcked = 0;
    this.pump();
  }

  get pending(): number {
    return this.queued + this.inflightBytes;
  }

  private pump(): void {
    while (this.queued > 0 && this.inflight.length < MAX_CHUNKS && this.inflightBytes < MAX_BYTES) {
      const size = Math.min(CHUNK, this.queued, MAX_BYTES - this.inflightBytes);
      const chunk = this.take(size);
      this.inflight.push(size);
      this.inflightBytes += size;
      this.sink(chunk);
    }
  }

  private take(size: number): Uint8Array {
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const head = this.queue[0]!;
      const n = Math.min(head.length, size - off);
      out.set(head.subarray(0, n), off);
      off += n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    this.queued -= size;
    return out;
  }
}

/**
 * Guest-to-host backpressure. The agent has no flow control towards the host (PROTOCOL.md), so
 * the only brake on a guest process's output is stopping the whole emulator. A sink that returns
 * a promise has not accepted the chunk yet (runtime/types.ts ProcessIO); once more than HIGH such
 * bytes are held across the VM's processes, `setPaused(true)`; once at most LOW, `setPaused(false)`.
 * An owner's bytes are dropped from the count when it is released (killed, exited), so a reader
 * that never drains cannot keep the VM stopped past the end of what it reads.
 */
export const OUTPUT_HIGH = 1 << 20;
export const OUTPUT_LOW = 256 << 10;

export class OutputGate {
  private readonly held = new Map<object, { bytes: number }>();
  private total = 0;
  private paused = false;

  constructor(private readonly setPaused: (paused: boolean) => void, private readonly high = OUTPUT_HIGH, private readonly low = OUTPUT_LOW) {}

  /** `result` is what the sink returned for `n` bytes of `owner`'s output. */
  delivered(owner: object, n: number, result: unknown): void {
    if (!(result instanceof Promise) || n === 0) return;
    let rec = this.held.get(owner);
    if (!rec) this.held.set(owner, (rec = { bytes: 0 }));
    const r = rec;
    r.bytes += n;
    this.total += n;
    const done = () => {
      if (this.held.get(owner) !== r) return; // released meanwhile
      r.bytes -= n;
      this.total -= n;
      if (r.bytes === 0) this.held.delete(owner);
      this.update();
    };
    result.then(done, done);
    this.update();
  }

  /** Forget `owner`'s held bytes: no more output is expected from it, or it is being killed. */
  release(owner: object): void {
    const rec = this.held.get(owner);
    if (!rec) return;
    this.held.delete(owner);
    this.total -= rec.bytes;
    this.update();
  }

  /** Bytes handed to sinks that have not accepted them yet. */
  get buffered(): number {
    return this.total;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private update(): void {
    if (!this.paused && this.total > this.high) {
      this.paused = true;
      this.setPaused(true);
    } else if (this.paused && this.total <= this.low) {
      this.paused = false;
      this.setPaused(false);
    }
  }
}
