/**
 * One TCP connection between the peer (us) and a guest endpoint, sans-IO: segments come in through
 * `receive`, go out through `hooks.send`, time passes through `tick(now)`. The link is a virtual
 * wire with no reordering, so this is deliberately small: in-order receive only (anything else is
 * answered with a duplicate ACK), go-back-N retransmission on timeout or three duplicate ACKs,
 * window scaling when the guest offers it (a 64 KiB window is a handful of segments at our MTU),
 * no SACK or timestamps (not offered, so Linux uses neither).
 *
 * Backpressure both ways: `write` returns false past a high-water mark and `onDrain` says when to
 * write again; when `onData` returns false, incoming bytes wait here and the window we advertise
 * shrinks to zero until `resume()`, so a guest sending faster than the host consumes simply stalls.
 */
import { LINK_MTU, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpSegment } from './frames.ts';

export interface TcpHooks {
  /** A segment to deliver to the guest (ports are filled in; the peer adds IP and Ethernet). */
  send(seg: TcpSegment): void;
  onOpen?(): void;
  /** Bytes from the guest, in order. Return false to stop the flow until `resume()`. */
  onData?(bytes: Uint8Array): boolean | void;
  /** The guest sent FIN: no more data will come. */
  onEnd?(): void;
  /** The write buffer fell below the low-water mark after `write` returned false. */
  onDrain?(): void;
  /** The connection is over; `error` is set for a reset, a refusal or a timeout. */
  onClose?(error?: TcpError): void;
}

export type TcpError = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT';

export type TcpState = 'syn-sent' | 'syn-received' | 'open' | 'closed';

/** The largest segment either side sends: the guest link's MTU less the IP and TCP headers. */
const MAX_MSS = LINK_MTU - 40;
const RCV_CAP = 65535;
/** Our window scale: windows up to 1 MiB once both sides scale. */
const OUR_SHIFT = 5;
const RCV_CAP_SCALED = 1 << 20;
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;
const RTO_MS = 400;
const RTO_MAX_MS = 8000;
const MAX_RETRIES = 9;
/** How long a closed connection lingers to re-acknowledge a retransmitted FIN (TIME-WAIT). */
export const LINGER_MS = 2000;

export const seqLt = (a: number, b: number) => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number) => ((a - b) | 0) <= 0;

export class TcpConnection {
  state: TcpState;
  /** When the connection reached 'closed' (for lingering). */
  closedAt = 0;
  private mss = 536;
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndWnd = 0;
  /** Window scaling (RFC 7323), on when both SYNs carried the option. */
  private scaling = false;
  private sndShift = 0;
  /** Unacknowledged and unsent bytes; queue[0] starts at `queueSeq`. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  private queueSeq: number;
  private finQueued = false;
  private finSeq = -1;
  private rcvNxt = 0;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private paused = false;
  private finReceived = false;
  private endDelivered = false;
  private needAck = false;
  private wantDrain = false;
  private dupAcks = 0;
  private rtoAt = 0;
  private rto = RTO_MS;
  private retries = 0;
  private now = 0;

  /** Largest segment we send: the MSS, or more when the guest's NIC takes coalesced frames (GSO). */
  private readonly segment: number;

  constructor(private readonly hooks: TcpHooks, opts: { active: boolean; iss?: number; now?: number; segment?: number }) {
    this.segment = opts.segment ?? 0;
    this.iss = (opts.iss ?? (Math.random() * 0x100000000)) >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.queueSeq = (this.iss + 1) >>> 0;
    this.now = opts.now ?? 0;
    this.state = opts.active ? 'syn-sent' : 'syn-received';
    if (opts.active) this.sendSyn();
  }

  /** Passive open: the guest's SYN. The SYN-ACK waits for `accept()` (the host side connected). */
  static fromSyn(hooks: TcpHooks, syn: TcpSegment, opts: { iss?: number; now?: number; segment?: number } = {}): TcpConnection {
    const c = new TcpConnection(hooks, { active: false, ...opts });
    c.rcvNxt = (syn.seq + 1) >>> 0;
    c.sndWnd = syn.window;
    c.mss = Math.min(syn.mss ?? 536, MAX_MSS);
    if (syn.wscale !== undefined) { c.scaling = true; c.sndShift = syn.wscale; }
    return c;
  }

  /** Passive open: answer the guest's SYN now that the host side is connected. */
  accept(): void {
    if (this.state === 'syn-received' && this.sndNxt === this.iss) this.sendSyn();
  }

  /** Passive open that the host side refused: reset the guest's SYN. */
  refuse(): void {
    this.hooks.send(this.seg(TCP_RST | TCP_ACK, this.iss, new Uint8Array(0)));
    this.finish();
  }

  /** Queues bytes for the guest. False: past the high-water mark; wait for `onDrain`. */
  write(bytes: Uint8Array): boolean {
    if (this.state === 'closed' || this.finQueued) return false;
    if (bytes.length) {
      this.queue.push(bytes);
      this.queued += bytes.length;
      this.pump();
    }
    const ok = this.queued < HIGH_WATER;
    if (!ok) this.wantDrain = true;
    return ok;
  }

  /** Sends FIN after everything written so far. */
  end(): void {
    if (this.finQueued || this.state === 'closed') return;
    this.finQueued = true;
    this.pump();
  }

  /** Resets the connection (the host side failed). */
  abort(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'syn-received' || this.sndNxt !== this.iss) this.hooks.send(this.seg(TCP_RST | TCP_ACK, this.sndNxt, new Uint8Array(0)));
    this.finish();
  }

  /** The consumer is full: hold what arrives (the window closes) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  /** The consumer can take data again: deliver what was held and reopen the window. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const wasShut = this.window() < this.mss;
    while (this.held.length && !this.paused) {
      const b = this.held.shift()!;
      this.heldBytes -= b.length;
      if (this.hooks.onData?.(b) === false) this.paused = true;
    }
    this.deliverEnd();
    if (wasShut && this.window() >= this.mss && this.state !== 'closed') this.sendAck();
  }

  /** Bytes written but not yet acknowledged by the guest. */
  get bufferedAmount(): number {
    return this.queued;
  }

  receive(seg: TcpSegment, now = this.now): void {
    this.now = now;
    if (this.state === 'closed') {
      // TIME-WAIT: re-acknowledge a FIN whose ACK was lost.
      if (seg.flags & TCP_FIN && !(seg.flags & TCP_RST)) this.sendAck();
      return;
    }
    if (seg.flags & TCP_RST) {
      if (this.state === 'syn-sent') {
        if (seg.flags & TCP_ACK && seg.ack === ((this.iss + 1) >>> 0)) this.finish('ECONNREFUSED');
      } else if (seg.seq === this.rcvNxt || (seqLe(this.rcvNxt, seg.seq) && seqLt(seg.seq, this.rcvNxt + RCV_CAP))) {
        this.finish('ECONNRESET');
      }
      return;
    }
    if (this.state === 'syn-sent') {
      if ((seg.flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK) || seg.ack !== ((this.iss + 1) >>> 0)) return;
      this.rcvNxt = (seg.seq + 1) >>> 0;
      this.mss = Math.min(seg.mss ?? 536, MAX_MSS);
      if (seg.wscale !== undefined) { this.scaling = true; this.sndShift = seg.wscale; }
      this.sndUna = seg.ack;
      this.sndWnd = seg.window;
      this.state = 'open';
      this.resetTimer();
      // The ACK of the SYN-ACK rides on the first data segment when the host side has bytes
      // waiting (a published port's request): one frame, one guest interrupt fewer per
      // connection. Otherwise flushAck sends it at the end of the batch.
      this.needAck = true;
      this.hooks.onOpen?.();
      this.pump();
      return;
    }
    if (seg.flags & TCP_SYN) {
      // The guest repeated its SYN: our SYN-ACK (if sent) was lost.
      if (this.state === 'syn-received' && this.sndNxt !== this.iss) this.hooks.send(this.seg(TCP_SYN | TCP_ACK, this.iss, new Uint8Array(0), MAX_MSS));
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    this.onAck(seg);
    if (this.state === 'syn-received') return;
    this.onPayload(seg);
    this.pump();
    this.maybeClosed();
  }

  /** Retransmission and zero-window probing; call every few tens of milliseconds. */
  tick(now: number): void {
    this.now = now;
    if (this.state === 'closed' || this.rtoAt === 0 || now < this.rtoAt) return;
    if (++this.retries > MAX_RETRIES) {
      this.hooks.send(this.seg(TCP_RST | TCP_ACK, this.sndNxt, new Uint8Array(0)));
      this.finish('ETIMEDOUT');
      return;
    }
    this.rto = Math.min(this.rto * 2, RTO_MAX_MS);
    this.rtoAt = now + this.rto;
    if (this.state === 'syn-sent' || this.state === 'syn-received') {
      this.hooks.send(this.seg(this.state === 'syn-sent' ? TCP_SYN : TCP_SYN | TCP_ACK, this.iss, new Uint8Array(0), MAX_MSS));
      return;
    }
    if (this.sndWnd === 0 && this.sndNxt === this.sndUna) {
      // Zero window: an old sequence number makes the guest answer with its current window.
      this.hooks.send(this.seg(TCP_ACK, (this.sndUna - 1) >>> 0, new Uint8Array(0)));
      return;
    }
    this.goBack();
  }

  /** Sends the ACK owed for data received in this batch (the peer calls it after each batch of frames). */
  flushAck(): void {
    if (this.needAck && this.state !== 'closed') this.sendAck();
  }

  private onAck(seg: TcpSegment): void {
    const ack = seg.ack;
    if (this.state === 'syn-received') {
      if (this.sndNxt === this.iss || ack !== ((this.iss + 1) >>> 0)) return;
      this.sndUna = ack;
      this.sndWnd = this.scaled(seg.window);
      this.state = 'open';
      this.resetTimer();
      this.hooks.onOpen?.();
      return;
    }
    if (seqLt(this.sndUna, ack) && seqLe(ack, this.sndNxt)) {
      let n = (ack - this.queueSeq) >>> 0;
      if (this.finSeq >= 0 && seqLt(this.finSeq, ack)) n -= 1;
      this.dropAcked(Math.min(n, this.queued));
      this.sndUna = ack;
      this.sndWnd = this.scaled(seg.window);
      this.dupAcks = 0;
      this.resetTimer();
      if (this.sndUna !== this.sndNxt) this.rtoAt = this.now + this.rto;
    } else if (ack === this.sndUna) {
      const grew = this.scaled(seg.window) > this.sndWnd;
      this.sndWnd = this.scaled(seg.window);
      // An answer to a zero-window probe: the guest is alive, only busy.
      if (seg.window === 0) this.retries = 0;
      if (grew) this.pump();
      if (!grew && !seg.payload.length && !(seg.flags & TCP_FIN) && this.sndNxt !== this.sndUna && ++this.dupAcks === 3) this.goBack();
    }
  }

  private onPayload(seg: TcpSegment): void {
    let data = seg.payload;
    let seq = seg.seq;
    const fin = (seg.flags & TCP_FIN) !== 0;
    if (!data.length && !fin) return;
    if (this.finReceived) { this.needAck = true; return; }
    if (seqLt(seq, this.rcvNxt)) {
      const skip = (this.rcvNxt - seq) >>> 0;
      if (skip > data.length || (skip === data.length && !fin)) { this.sendAck(); return; }
      data = data.subarray(skip);
      seq = this.rcvNxt;
    }
    if (seq !== this.rcvNxt) { this.sendAck(); return; }
    const take = Math.min(data.length, this.window());
    if (take > 0) {
      const bytes = data.slice(0, take);
      this.rcvNxt = (this.rcvNxt + take) >>> 0;
      if (this.paused || this.held.length) { this.held.push(bytes); this.heldBytes += take; }
      else if (this.hooks.onData?.(bytes) === false) this.paused = true;
    }
    this.needAck = true;
    if (fin && take === data.length) {
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.finReceived = true;
      this.sendAck();
      this.deliverEnd();
    } else if (take < data.length) this.sendAck();
  }

  private deliverEnd(): void {
    if (this.finReceived && !this.endDelivered && !this.held.length) {
      this.endDelivered = true;
      this.hooks.onEnd?.();
      this.maybeClosed();
    }
  }

  private pump(): void {
    if (this.state !== 'open') return;
    const finPending = this.finQueued && this.finSeq < 0;
    for (;;) {
      const offset = (this.sndNxt - this.queueSeq) >>> 0;
      const unsent = this.queued - offset;
      const inFlight = (this.sndNxt - this.sndUna) >>> 0;
      const room = this.sndWnd - inFlight;
      if (unsent <= 0 || room <= 0) break;
      const n = Math.min(unsent, room, Math.max(this.mss, this.segment));
      const last = n === unsent;
      this.hooks.send(this.seg(TCP_ACK | (last ? TCP_PSH : 0), this.sndNxt, this.bytesAt(offset, n)));
      this.sndNxt = (this.sndNxt + n) >>> 0;
      if (this.rtoAt === 0) this.rtoAt = this.now + this.rto;
    }
    if (finPending && ((this.sndNxt - this.queueSeq) >>> 0) === this.queued) {
      this.finSeq = this.sndNxt;
      this.hooks.send(this.seg(TCP_FIN | TCP_ACK, this.sndNxt, new Uint8Array(0)));
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      if (this.rtoAt === 0) this.rtoAt = this.now + this.rto;
    }
    if (this.sndWnd === 0 && this.queued > 0 && this.rtoAt === 0) this.rtoAt = this.now + this.rto;
  }

  /** Resend everything from the oldest unacknowledged byte. */
  private goBack(): void {
    this.sndNxt = this.sndUna;
    if (this.finSeq >= 0 && seqLe(this.sndUna, this.finSeq)) this.finSeq = -1;
    this.dupAcks = 0;
    this.rtoAt = 0;
    this.pump();
  }

  private dropAcked(n: number): void {
    this.queued -= n;
    this.queueSeq = (this.queueSeq + n) >>> 0;
    while (n > 0) {
      const head = this.queue[0];
      if (head.length <= n) { n -= head.length; this.queue.shift(); }
      else { this.queue[0] = head.subarray(n); n = 0; }
    }
    if (this.wantDrain && this.queued < LOW_WATER) {
      this.wantDrain = false;
      this.hooks.onDrain?.();
    }
  }

  private bytesAt(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    for (const c of this.queue) {
      if (offset >= c.length) { offset -= c.length; continue; }
      const part = c.subarray(offset, Math.min(c.length, offset + n - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  private maybeClosed(): void {
    if (this.state === 'open' && this.endDelivered && this.finSeq >= 0 && this.sndUna === ((this.finSeq + 1) >>> 0)) this.finish();
  }

  private window(): number {
    return Math.max(0, (this.scaling ? RCV_CAP_SCALED : RCV_CAP) - this.heldBytes);
  }

  /** A window field of a segment other than a SYN, in bytes. */
  private scaled(field: number): number {
    return field * 2 ** this.sndShift;
  }

  private sendSyn(): void {
    this.hooks.send(this.seg(this.state === 'syn-sent' ? TCP_SYN : TCP_SYN | TCP_ACK, this.iss, new Uint8Array(0), MAX_MSS));
    this.sndNxt = (this.iss + 1) >>> 0;
    this.rtoAt = this.now + this.rto;
  }

  private sendAck(): void {
    this.needAck = false;
    this.hooks.send(this.seg(TCP_ACK, this.sndNxt, new Uint8Array(0)));
  }

  private seg(flags: number, seq: number, payload: Uint8Array, mss?: number): TcpSegment {
    if (flags & TCP_ACK) this.needAck = false;
    const syn = (flags & TCP_SYN) !== 0;
    // A SYN's window is never scaled; the others are, once both sides agreed.
    const window = Math.min(65535, syn || !this.scaling ? this.window() : Math.floor(this.window() / 2 ** OUR_SHIFT));
    // Offered in our SYN, and in a SYN-ACK only to a guest that offered it.
    const wscale = syn && (this.state === 'syn-sent' || this.scaling) ? OUR_SHIFT : undefined;
    return { srcPort: 0, dstPort: 0, seq: seq >>> 0, ack: flags & TCP_ACK ? this.rcvNxt : 0, flags, window, mss, ...(wscale !== undefined ? { wscale } : {}), payload };
  }

  private resetTimer(): void {
    this.rtoAt = 0;
    this.rto = RTO_MS;
    this.retries = 0;
  }

  private finish(error?: TcpError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedAt = this.now;
    this.rtoAt = 0;
    this.queue = [];
    this.queued = 0;
    this.hooks.onClose?.(error);
  }
}
