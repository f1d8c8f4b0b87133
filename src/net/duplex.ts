/**
 * The one shape both ends of a forwarded connection take: a guest TCP connection (peer.ts), a Node
 * socket (node.ts), a Wisp stream (wisp-client.ts). `pipe` joins two with backpressure both ways:
 * a write that returns false pauses the other side until the writer drains.
 */

export interface Duplex {
  /** False: the bytes are queued but the writer is full; wait for `drain`. */
  write(bytes: Uint8Array): boolean;
  /** No more bytes from us (a half-close; the other direction may go on). */
  end(): void;
  /** Abort both directions (a reset). */
  destroy(): void;
  pause(): void;
  resume(): void;
}

export interface DuplexEvents {
  data(bytes: Uint8Array): void;
  end(): void;
  drain(): void;
  /** Both directions are over; `error` says why when it was not an orderly close. */
  close(error?: string): void;
}

/** Events that do nothing until `pipe` (or a test) sets them. */
export function lateEvents(): DuplexEvents {
  return { data() {}, end() {}, drain() {}, close() {} };
}

/**
 * Joins `a` and `b`: each one's data is written to the other, ends and resets carry over.
 * `aEvents` / `bEvents` are the event objects the two ends report to.
 */
export function pipe(a: Duplex, aEvents: DuplexEvents, b: Duplex, bEvents: DuplexEvents): void {
  let closed = false;
  const link = (from: Duplex, fromEv: DuplexEvents, to: Duplex, toEv: DuplexEvents) => {
    fromEv.data = (bytes) => { if (!to.write(bytes)) from.pause(); };
    toEv.drain = () => from.resume();
    fromEv.end = () => to.end();
    fromEv.close = (error) => {
      if (closed) return;
      if (error) {
        closed = true;
        to.destroy();
      }
    };
  };
  link(a, aEvents, b, bEvents);
  link(b, bEvents, a, aEvents);
}
