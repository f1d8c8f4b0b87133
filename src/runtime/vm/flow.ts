/**
 * Host-to-guest flow control over the virtio console. v86 drops input when the guest has no
 * receive buffer posted, and Linux posts 4 KiB buffers, one per chunk we send. So bytes go out in
 * chunks of at most CHUNK, with at most MAX_CHUNKS / MAX_BYTES not yet acknowledged; the agent's
 * ACK frames (deltas of bytes it read) return the credit. Sans-IO: `sink` does the sending.
 */
import { StdinGate } from '../stdin-gate.ts';

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

  /** Bytes not sent yet: they wait for the agent to acknowledge earlier ones. */
  get waiting(): number {
    return this.queued;
  }

  /** Bytes handed to the guest that the agent has not acknowledged (read) yet. */
  get unacknowledged(): number {
    return this.inflightBytes;
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
 * Per-process flow control (PROTOCOL.md "Per-process flow control"). Each process's stdout and
 * stderr has a window of OUTPUT_WINDOW bytes, open from the start (no round trip before the first
 * output): the agent reads a stream's pipe only while its window has room, so a process whose
 * host-side reader is stalled blocks in write(2) on its own pipe, as with Docker, and every other
 * process, stream and request keeps going. The host returns room as its sinks accept bytes
 * (ProcessIO: a returned promise means "not yet"), in CREDIT frames of at least CREDIT_STEP bytes
 * so a process printing a little costs no frame at all.
 */
export const OUTPUT_WINDOW = 256 << 10;
export const CREDIT_STEP = OUTPUT_WINDOW / 4;
/**
 * Most output of one stream the host keeps unread. A well-behaved agent stays within the window
 * while the process runs, and after its exit drains what is left without one (a pipe of at most
 * 1 MiB, F_SETPIPE_SZ's unprivileged limit, plus 200 ms of stragglers). A guest past this
 * ignores the window (a hostile or broken agent): the host drops its bytes rather than buffer
 * without bound (AgentClient reports a protocol error).
 */
export const OUTPUT_HELD_MAX = OUTPUT_WINDOW + (4 << 20);

/**
 * The host half of one process's output windows. Sans-IO: `send(stdout, stderr)` emits a CREDIT
 * frame. No deadlock: while a stream's sink holds nothing, the room not yet returned is under
 * CREDIT_STEP, so the agent still has at least OUTPUT_WINDOW - CREDIT_STEP of window.
 */
export class OutputCredit {
  private owed = [0, 0];

  constructor(private readonly send: (stdout: number, stderr: number) => void) {}

  /** The sink of stream 0 (stdout, a TTY's output) or 1 (stderr) accepted `n` bytes. */
  accepted(stream: 0 | 1, n: number): void {
    this.owed[stream]! += n;
    if (this.owed[stream]! < CREDIT_STEP) return;
    const [o, e] = this.owed as [number, number];
    this.owed = [0, 0];
    this.send(o, e);
  }
}

/**
 * Host-to-guest per process: at most STDIN_WINDOW bytes of a process's stdin wait in the agent
 * (it returns room as it writes them into the process's pipe, or drops them when stdin is
 * closed); the rest waits here. A process that does not read its stdin then holds back only its
 * own stdin, not the port every request and every other process shares. What waits here is
 * bounded by the writer's gate (runtime/stdin-gate.ts).
 */
export const STDIN_WINDOW = 64 << 10;
/** Largest STDIN payload in one frame. */
export const STDIN_FRAME = 16 << 10;

export class StdinWindow {
  private room = STDIN_WINDOW;
  private queue: Uint8Array[] = [];
  private bytes = 0;
  private closing = false;
  private closed = false;
  /** The writer's side: a promise past STDIN_HIGH_WATER queued here (runtime/stdin-gate.ts). */
  private readonly gate = new StdinGate();

  /** `send(bytes)` emits a STDIN frame; an empty one closes stdin. */
  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  /** A promise when the writer should wait (RuntimeProcess.writeStdin); throws past STDIN_QUEUED_MAX. */
  write(bytes: Uint8Array): Promise<void> | undefined {
    if (this.closing || bytes.length === 0) return undefined;
    this.gate.admit();
    this.queue.push(bytes);
    this.bytes += bytes.length;
    this.pump();
    return this.gate.update(this.bytes);
  }

  /** EOF, after what is queued. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.pump();
  }

  /** The process is gone: what waits is dropped, writers are released, later writes ignored. */
  abandon(): void {
    this.closing = this.closed = true;
    this.queue = [];
    this.bytes = 0;
    this.gate.finish();
  }

  /** The agent wrote (or dropped) `n` more bytes. */
  credit(n: number): void {
    this.room = Math.min(STDIN_WINDOW, this.room + n);
    this.pump();
    this.gate.update(this.bytes);
  }

  /** Bytes waiting on the host for room in the agent. */
  get queued(): number {
    return this.bytes;
  }

  private pump(): void {
    while (this.queue.length && this.room > 0) {
      const head = this.queue[0]!;
      const n = Math.min(head.length, this.room, STDIN_FRAME);
      this.send(head.subarray(0, n));
      this.room -= n;
      this.bytes -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    if (this.closing && !this.closed && !this.queue.length) {
      this.closed = true;
      this.send(new Uint8Array(0));
    }
  }
}
