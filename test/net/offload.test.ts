/**
 * The guest's transmit offloads (src/net/offload.ts): a TCP super-segment with a partial checksum,
 * as Linux hands one to a TSO NIC, becomes link-MTU segments with complete checksums; the peer
 * takes the super-segment itself whole.
 */
import { describe, expect, it } from 'vitest';
import {
  buildIpv4, buildTcp, buildUdp, ipFromString, parseIpv4, parseTcp, parseUdp, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH,
  transportChecksumOk,
} from '../../src/net/frames.ts';
import { wirePackets } from '../../src/net/offload.ts';
import { GuestSim, settle } from './guest-sim.ts';
import type { Duplex } from '../../src/net/duplex.ts';
import type { Dialer } from '../../src/net/peer.ts';

const A = ipFromString('172.18.0.2');
const B = ipFromString('172.18.0.3');

/** What Linux leaves in a CHECKSUM_PARTIAL segment's checksum field: not the real checksum. */
function partial(packet: Uint8Array, proto: number): Uint8Array {
  const at = 20 + (proto === PROTO_TCP ? 16 : 6);
  packet[at] ^= 0x5a;
  packet[at + 1] ^= 0xa5;
  return packet;
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);

describe('wirePackets', () => {
  it('cuts a TCP super-segment into MTU segments: sequence numbers, flags, lengths and checksums', () => {
    const data = bytes(5000);
    const p = partial(buildIpv4(A, B, PROTO_TCP, buildTcp({ srcPort: 40000, dstPort: 80, seq: 0xfffffff0, ack: 77, flags: TCP_ACK | TCP_PSH | TCP_FIN, window: 500, payload: data })), PROTO_TCP);
    const ip = parseIpv4(p)!;
    expect(transportChecksumOk(ip)).toBe(false);
    const out = wirePackets(p, ip, 1500);
    expect(out.map((q) => q.length)).toEqual([1500, 1500, 1500, 5000 - 3 * 1460 + 40]);
    const got: number[] = [];
    out.forEach((q, i) => {
      const qi = parseIpv4(q)!; // parseIpv4 checks the header checksum
      expect(qi).not.toBeNull();
      expect(transportChecksumOk(qi)).toBe(true);
      expect(qi.id).toBe((ip.id + i) & 0xffff);
      const t = parseTcp(qi.payload)!;
      expect(t.seq).toBe((0xfffffff0 + i * 1460) >>> 0);
      expect(t.ack).toBe(77);
      expect(t.flags).toBe(i === out.length - 1 ? TCP_ACK | TCP_PSH | TCP_FIN : TCP_ACK);
      got.push(...t.payload);
    });
    expect(Uint8Array.from(got)).toEqual(data);
  });

  it('completes the checksum of a packet that fits, TCP and UDP alike, and leaves the guest buffer alone', () => {
    const tcp = partial(buildIpv4(A, B, PROTO_TCP, buildTcp({ srcPort: 1, dstPort: 2, seq: 5, ack: 6, flags: TCP_ACK, window: 9, payload: bytes(100) })), PROTO_TCP);
    const before = tcp.slice();
    const [t] = wirePackets(tcp, parseIpv4(tcp)!);
    expect(transportChecksumOk(parseIpv4(t)!)).toBe(true);
    expect(tcp).toEqual(before);
    const udp = partial(buildIpv4(A, B, PROTO_UDP, buildUdp(53, 5353, bytes(33))), PROTO_UDP);
    const [u] = wirePackets(udp, parseIpv4(udp)!);
    const ui = parseIpv4(u)!;
    expect(transportChecksumOk(ui)).toBe(true);
    expect(parseUdp(ui.payload)!.payload).toEqual(bytes(33));
  });
});

describe('NetPeer with checksum offload', () => {
  it('takes a 64 KiB segment with a partial checksum whole, and still drops it without offload', async () => {
    for (const offload of [true, false]) {
      const got: Uint8Array[] = [];
      const dialer: Dialer = {
        async tcp() {
          const d: Duplex = { write: (b) => { got.push(b.slice()); return true; }, end() {}, destroy() {}, pause() {}, resume() {} };
          return d;
        },
      };
      const g = new GuestSim({ dialer, checksumOffload: offload });
      g.tcp('172.17.0.2', '1.1.1.1', { srcPort: 33000, dstPort: 80, flags: 2, seq: 1000, mss: 1460, wscale: 7 });
      await settle();
      const synAck = g.take().find((r) => r.tcp)!.tcp!;
      const data = bytes(65000);
      const f = g.tcpFrame('172.17.0.2', '1.1.1.1', { srcPort: 33000, dstPort: 80, flags: TCP_ACK | TCP_PSH, seq: 1001, ack: (synAck.seq + 1) >>> 0, window: 1000, payload: data });
      f[14 + 20 + 16] ^= 0xff;
      g.peer.input([f]);
      await settle();
      const total = got.reduce((n, b) => n + b.length, 0);
      if (offload) {
        expect(total).toBe(65000);
        expect(Uint8Array.from(got.flatMap((b) => [...b]))).toEqual(data);
        expect(g.take().filter((r) => r.tcp).at(-1)!.tcp!.ack).toBe(1001 + 65000);
      } else {
        expect(total).toBe(0);
      }
    }
  });
});
