/**
 * A synchronous call from the worker to the host: the worker posts the request, then sleeps in
 * `Atomics.wait` on a SharedArrayBuffer until the host writes the reply there. The host may take
 * its time (awaiting stdin); only the worker blocks. Replies larger than the buffer come in
 * pieces, fetched with the host op "more".
 *
 * SAB layout: int32 [0] state (0 pending, 1 ready), [1] status (protocol `Reply`), [2] byte
 * length of this piece, [3] bytes still to come; payload from byte 16.
 */
import { FsError, type ErrnoName } from '../../fs/errno.ts';
import { Reply, type CallMessage } from './protocol.ts';

const HEADER = 16;
export const DEFAULT_CHANNEL_BYTES = 1 << 20;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function createChannelBuffer(payloadBytes = DEFAULT_CHANNEL_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + payloadBytes);
}

/** Worker side. `post` sends a CallMessage to the host. */
export class ChannelClient {
  private readonly head: Int32Array;
  private readonly body: Uint8Array;
  calls = 0;

  /** Told when the worker stops and starts running the module around each wait (stats: usage.ts). */
  constructor(sab: SharedArrayBuffer, private readonly post: (m: CallMessage) => void, private readonly meter?: { pause(): void; resume(): void }) {
    this.head = new Int32Array(sab, 0, 4);
    this.body = new Uint8Array(sab, HEADER);
  }

  get capacity(): number {
    return this.body.length;
  }

  call(fs: number, op: string, args: unknown[]): unknown {
    this.calls++;
    let { status, bytes, more } = this.roundTrip({ t: 'call', fs, op, args });
    if (more > 0) {
      const all = new Uint8Array(bytes.length + more);
      all.set(bytes);
      let at = bytes.length;
      while (more > 0) {
        const piece = this.roundTrip({ t: 'call', fs: -1, op: 'more', args: [] });
        all.set(piece.bytes, at);
        at += piece.bytes.length;
        more = piece.more;
      }
      bytes = all;
    }
    if (status === Reply.BYTES) return bytes;
    const text = bytes.length ? dec.decode(bytes) : 'null';
    const value = JSON.parse(text) as unknown;
    if (status === Reply.JSON) return value;
    const err = value as { code: string; message: string };
    if (status === Reply.FS_ERROR) {
      const e = new FsError(err.code as ErrnoName);
      e.message = err.message;
      throw e;
    }
    throw new Error(err.message);
  }

  private roundTrip(msg: CallMessage): { status: number; bytes: Uint8Array; more: number } {
    Atomics.store(this.head, 0, 0);
    this.post(msg);
    this.meter?.pause();
    Atomics.wait(this.head, 0, 0);
    this.meter?.resume();
    const len = this.head[2]!;
    return { status: this.head[1]!, bytes: this.body.slice(0, len), more: this.head[3]! };
  }
}

/** Host side: writes replies; remembers the rest of an oversized one for "more". */
export class ChannelServer {
  private readonly head: Int32Array;
  private readonly body: Uint8Array;
  private pending: Uint8Array | null = null;
  private pendingStatus = 0;

  constructor(sab: SharedArrayBuffer) {
    this.head = new Int32Array(sab, 0, 4);
    this.body = new Uint8Array(sab, HEADER);
  }

  replyValue(value: unknown): void {
    if (value instanceof Uint8Array) this.reply(Reply.BYTES, value);
    else this.reply(Reply.JSON, value === undefined ? new Uint8Array() : enc.encode(JSON.stringify(value)));
  }

  replyError(err: unknown): void {
    if (err instanceof FsError) this.reply(Reply.FS_ERROR, enc.encode(JSON.stringify({ code: err.code, message: err.message })));
    else this.reply(Reply.ERROR, enc.encode(JSON.stringify({ code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) })));
  }

  /** The "more" op: the next piece of the reply that did not fit. */
  replyMore(): void {
    const rest = this.pending ?? new Uint8Array();
    this.pending = null;
    this.reply(this.pendingStatus, rest);
  }

  private reply(status: number, bytes: Uint8Array): void {
    const n = Math.min(bytes.length, this.body.length);
    this.body.set(bytes.subarray(0, n));
    this.pending = n < bytes.length ? bytes.subarray(n) : null;
    this.pendingStatus = status;
    this.head[1] = status;
    this.head[2] = n;
    this.head[3] = bytes.length - n;
    Atomics.store(this.head, 0, 1);
    Atomics.notify(this.head, 0);
  }
}
