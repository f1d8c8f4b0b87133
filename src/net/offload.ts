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
import { checksum, fillTransportChecksum, LINK_MTU, PROTO_TCP, type Ipv4Packet } from './frames.ts';

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
