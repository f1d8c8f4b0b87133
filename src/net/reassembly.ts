/**
 * IPv4 reassembly (RFC 791) for what the guest fragments: a UDP datagram past the link MTU (a
 * container's large DNS answer, a published UDP port's reply). Sans-IO: `add` takes each fragment
 * and returns the whole packet once every byte up to the last fragment arrived. Bounded: at most
 * MAX_PENDING datagrams of at most 64 KiB wait, each for at most TIMEOUT_MS (`expire`), and
 * overlapping or out-of-bounds fragments drop the datagram (no overlap games, RFC 5722's rule).
 */
import type { Ipv4Packet } from './frames.ts';

const MAX_PENDING = 64;
const TIMEOUT_MS = 5000;
const MAX_DATAGRAM = 65535 - 20;

interface Pending { parts: { off: number; data: Uint8Array }[]; total: number; first?: Ipv4Packet; since: number }

export class Reassembler {
  private pending = new Map<string, Pending>();

  /** One fragment; the reassembled packet when it was the last missing piece, else null. */
  add(ip: Ipv4Packet, now: number): Ipv4Packet | null {
    const word = (ip.header[6]! << 8) | ip.header[7]!;
    const more = (word & 0x2000) !== 0;
    const off = (word & 0x1fff) * 8;
    const k = `${ip.src}>${ip.dst}/${ip.proto}#${ip.id}`;
    let p = this.pending.get(k);
    if (!p) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      p = { parts: [], total: -1, since: now };
      this.pending.set(k, p);
    }
    const end = off + ip.payload.length;
    const bad = end > MAX_DATAGRAM || (more && ip.payload.length % 8 !== 0) || (!more && p.total >= 0)
      || p.parts.some((q) => off < q.off + q.data.length && q.off < end) || (p.total >= 0 && end > p.total);
    if (bad) { this.pending.delete(k); return null; }
    p.parts.push({ off, data: ip.payload.slice() });
    if (off === 0) p.first = ip;
    if (!more) p.total = end;
    if (p.total < 0 || !p.first || p.parts.reduce((n, q) => n + q.data.length, 0) !== p.total) return null;
    this.pending.delete(k);
    const payload = new Uint8Array(p.total);
    for (const q of p.parts) payload.set(q.data, q.off);
    return { ...p.first, payload, fragmented: false };
  }

  /** Drops datagrams that waited too long for their missing pieces. */
  expire(now: number): void {
    for (const [k, p] of this.pending) if (now - p.since > TIMEOUT_MS) this.pending.delete(k);
  }
}
