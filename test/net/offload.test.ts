/**
 * The guest's transmit offloads (src/net/offload.ts): a TCP super-segment with a partial checksum,
 * as Linux hands one to a TSO NIC, becomes link-MTU segments with complete checksums; the peer
 * takes the super-segment itself whole. Toward the guest: the virtio_net header marks big TCP
 * frames GSO and checksums valid, and a guest without GSO receive gets MTU frames instead.
 */
import { describe, expect, it } from 'vitest';
import {
  buildIpv4, buildTcp, buildUdp, ipFromString, parseIpv4, parseTcp, parseUdp, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH,
  transportChecksumOk,
} from '../../src/net/frames.ts';
import { splitFrame, VIRTIO_NET_HDR_LEN, wirePackets, withRxHeader } from '../../src/net/offload.ts';
import { buildEth, buildTcpFrame, ETH_IPV4, parseEth } from '../../src/net/frames.ts';
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

describe('the receive direction', () => {
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  const tcpFrame = (n: number) => buildEth(mac, mac, ETH_IPV4, buildIpv4(A, B, PROTO_TCP, buildTcp({ srcPort: 80, dstPort: 40000, seq: 9, ack: 1, flags: TCP_ACK | TCP_PSH, window: 100, payload: bytes(n) })));

  it('marks a coalesced TCP frame GSO (hdr_len, gso_size) and checksums valid; small frames only valid', () => {
    const frame = tcpFrame(32768);
    const big = withRxHeader(frame, { csum: true, gso: true });
    const v = new DataView(big.buffer);
    expect([big[0], big[1], v.getUint16(2, true), v.getUint16(4, true)]).toEqual([2, 1, 14 + 20 + 20, 1460]);
    expect(big.subarray(VIRTIO_NET_HDR_LEN)).toEqual(frame);
    const small = withRxHeader(tcpFrame(100), { csum: true, gso: true });
    expect([...small.subarray(0, VIRTIO_NET_HDR_LEN)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // A guest that negotiated neither (a state saved before): an empty header, as v86 writes it.
    expect([...withRxHeader(tcpFrame(100), { csum: false, gso: false }).subarray(0, VIRTIO_NET_HDR_LEN)]).toEqual(new Array(12).fill(0));
  });

  it('writes the header in place into a frame built with headroom, the same bytes as a copy', () => {
    const seg = { srcPort: 80, dstPort: 40000, seq: 9, ack: 1, flags: TCP_ACK, window: 100, payload: bytes(20000) };
    const roomy = buildTcpFrame(mac, mac, A, B, seg, VIRTIO_NET_HDR_LEN);
    expect(roomy.byteOffset).toBe(VIRTIO_NET_HDR_LEN);
    const plain = roomy.slice();
    expect(parseTcp(parseIpv4(parseEth(plain)!.payload)!.payload)!.payload).toEqual(bytes(20000));
    expect(transportChecksumOk(parseIpv4(parseEth(plain)!.payload)!)).toBe(true);
    const copied = withRxHeader(plain, { csum: true, gso: true });
    const inPlace = withRxHeader(roomy, { csum: true, gso: true });
    expect(inPlace.buffer).toBe(roomy.buffer);
    expect(inPlace).toEqual(copied);
  });

  it('splits a big frame into MTU frames for a guest without GSO receive', () => {
    const frames = splitFrame(tcpFrame(5000));
    expect(frames.map((f) => f.length)).toEqual([1514, 1514, 1514, 14 + 40 + 5000 - 3 * 1460]);
    const data: number[] = [];
    for (const f of frames) {
      const ip = parseIpv4(parseEth(f)!.payload)!;
      expect(transportChecksumOk(ip)).toBe(true);
      data.push(...parseTcp(ip.payload)!.payload);
    }
    expect(Uint8Array.from(data)).toEqual(bytes(5000));
  });
});
