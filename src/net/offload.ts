/**
 * The guest NIC's transmit offloads. net-pump.ts offers the guest's virtio-net checksum offload
 * (VIRTIO_NET_F_CSUM) and TCP segmentation offload (HOST_TSO4): the guest then hands over TCP
 * segments of up to 64 KiB in one frame and leaves TCP and UDP checksums for the NIC to finish.
 * For the host-side peer that is free (it terminates TCP and reads any segment size; the link is
 * a memory copy, so it trusts the guest's checksums), and it spares the emulated guest most of its
 * per-packet work: 32 MB up went from 10.5M to 0.6M guest instructions per MB (notes/net-speed.md).
 *
 * A packet that leaves for another guest (remote-routes.ts relays it to a container of another
 * skiff process) must look like wire traffic again: `wirePackets` completes its checksum and
 * cuts a TCP super-segment into link-MTU segments, as a real NIC would.
 */
import { checksum, fillTransportChecksum, LINK_MTU, parseIpv4, PROTO_TCP, type Ipv4Packet } from './frames.ts';

const TCP_FIN_PSH = 0x09;
const TCP_CWR = 0x80;

/** `packet` (the guest's IPv4 packet, parsed as `ip`) as packets of at most `mtu` bytes with complete checksums. */
export function wirePackets(packet: Uint8Array, ip: Ipv4Packet, mtu = LINK_MTU): Uint8Array[] {
  const hl = ip.header.length;
  const total = hl + ip.payload.length;
  if (ip.proto !== PROTO_TCP || total <= mtu) {
    const p = packet.slice(0, total);
    fillTransportChecksum(p, hl);
    return [p];
  }
  const th = (ip.payload[12] >> 4) * 4;
  const mss = mtu - hl - th;
  if (th < 20 || th > ip.payload.length || mss <= 0) return [];
  const data = ip.payload.subarray(th);
  const seq0 = new DataView(ip.payload.buffer, ip.payload.byteOffset, 8).getUint32(4);
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < data.length; off += mss, i++) {
    const n = Math.min(mss, data.length - off);
    const p = new Uint8Array(hl + th + n);
    p.set(ip.header, 0);
    p.set(ip.payload.subarray(0, th), hl);
    p.set(data.subarray(off, off + n), hl + th);
    const v = new DataView(p.buffer);
    v.setUint16(2, p.length);
    v.setUint16(4, (ip.id + i) & 0xffff);
    v.setUint16(10, 0);
    v.setUint16(10, checksum(p.subarray(0, hl)));
    v.setUint32(hl + 4, (seq0 + off) >>> 0);
    // FIN and PSH belong to the last piece, CWR to the first (what Linux's own segmentation does).
    if (off + n < data.length) p[hl + 13] &= ~TCP_FIN_PSH;
    if (i > 0) p[hl + 13] &= ~TCP_CWR;
    fillTransportChecksum(p, hl);
    out.push(p);
  }
  return out;
}

/** virtio_net_hdr (v1, 12 bytes, little-endian) flags and GSO types the receive side uses. */
const HDR_DATA_VALID = 2;
const GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_LEN = 12;

/**
 * The receive direction: a frame for the guest behind the virtio_net header its driver reads.
 * `csum` (the guest took VIRTIO_NET_F_GUEST_CSUM): our checksums are always complete, so the
 * guest is told not to verify them. `gso` (it took GUEST_TSO4): a TCP frame carrying more than
 * one link-MTU segment is marked as what it is, a coalesced TCP packet (as GRO makes), so the
 * guest takes it whole and can still forward it to a container's 1500-byte veth (a big packet
 * with DF set and no GSO mark would be refused there).
 */
export function withRxHeader(frame: Uint8Array, o: { csum: boolean; gso: boolean }, mtu = LINK_MTU): Uint8Array {
  // A frame built with headroom (peer.ts) gets its header in place; any other is copied once.
  let out: Uint8Array;
  if (frame.byteOffset === VIRTIO_NET_HDR_LEN && frame.buffer.byteLength === VIRTIO_NET_HDR_LEN + frame.length) {
    out = new Uint8Array(frame.buffer, frame.byteOffset - VIRTIO_NET_HDR_LEN, VIRTIO_NET_HDR_LEN + frame.length);
    out.fill(0, 0, VIRTIO_NET_HDR_LEN);
  } else {
    out = new Uint8Array(VIRTIO_NET_HDR_LEN + frame.length);
    out.set(frame, VIRTIO_NET_HDR_LEN);
  }
  if (o.csum) out[0] = HDR_DATA_VALID;
  const ipv4 = frame.length >= 34 && frame[12] === 0x08 && frame[13] === 0x00;
  if (o.gso && ipv4 && frame[14 + 9] === PROTO_TCP && frame.length - 14 > mtu) {
    const ihl = (frame[14] & 15) * 4;
    const thl = frame.length >= 14 + ihl + 13 ? (frame[14 + ihl + 12] >> 4) * 4 : 0;
    const v = new DataView(out.buffer, out.byteOffset, VIRTIO_NET_HDR_LEN);
    out[1] = GSO_TCPV4;
    v.setUint16(2, 14 + ihl + thl, true); // hdr_len
    v.setUint16(4, mtu - ihl - thl, true); // gso_size: the segments the guest would cut it into
  }
  return out;
}

/** A frame too big for a guest without GSO receive (a state saved before it): link-MTU frames. */
export function splitFrame(frame: Uint8Array, mtu = LINK_MTU): Uint8Array[] {
  const ip = frame.length > 14 + mtu && frame[12] === 0x08 && frame[13] === 0x00 ? parseIpv4(frame.subarray(14)) : null;
  if (!ip) return [];
  return wirePackets(frame.subarray(14), ip, mtu).map((p) => {
    const f = new Uint8Array(14 + p.length);
    f.set(frame.subarray(0, 14));
    f.set(p, 14);
    return f;
  });
}
