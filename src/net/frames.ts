/**
 * Ethernet, ARP, IPv4, ICMP, UDP and TCP headers: parse a frame into plain values and build one
 * from them. Sans-IO; the peer (peer.ts) and the TCP machine (tcp.ts) work on these values.
 * Only what a Linux guest sends on a point-to-point virtual link is understood: no VLAN tags,
 * no IP options on what we build, fragments are dropped by the caller.
 */

export type Mac = Uint8Array;
/** An IPv4 address as an unsigned 32-bit number (10.0.2.2 = 0x0a000202). */
export type Ip = number;

/**
 * The guest link's MTU (v86's virtio-net reports it to the driver; worker-main.ts configures the
 * NIC with it). Ethernet's: a larger one makes Linux post multi-page receive buffers (1024 of
 * them: ~20 MB of a 128 MB guest at 16 KiB), containers' veths stay at 1500 anyway, and under
 * load no gain showed (measured 1500 / 16384 / 65000, /work/shared/notes/networking.md).
 */
export const LINK_MTU = 1500;

export const ETH_ARP = 0x0806;
export const ETH_IPV4 = 0x0800;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function ipFromString(s: string): Ip {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new RangeError(`not an IPv4 address: ${s}`);
  return parts.reduce((a, p) => ((a << 8) | Number(p)) >>> 0, 0);
}

export function ipToString(ip: Ip): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function macToString(m: Mac): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface EthFrame { dst: Mac; src: Mac; type: number; payload: Uint8Array }
export interface ArpPacket { op: number; senderMac: Mac; senderIp: Ip; targetMac: Mac; targetIp: Ip }
export interface Ipv4Packet { src: Ip; dst: Ip; proto: number; ttl: number; id: number; fragmented: boolean; payload: Uint8Array; header: Uint8Array }
export interface UdpDatagram { srcPort: number; dstPort: number; payload: Uint8Array }
export interface TcpSegment {
  srcPort: number; dstPort: number; seq: number; ack: number; flags: number; window: number;
  /** From a SYN's options; absent when the segment carried none. */
  mss?: number;
  /** Window scale shift (RFC 7323) from a SYN's options; absent: no scaling offered. */
  wscale?: number;
  payload: Uint8Array;
}
export interface IcmpMessage { type: number; code: number; rest: Uint8Array }

export function parseEth(f: Uint8Array): EthFrame | null {
  if (f.length < 14) return null;
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type: (f[12] << 8) | f[13], payload: f.subarray(14) };
}

export function buildEth(dst: Mac, src: Mac, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 255;
  f.set(payload, 14);
  return f;
}

export function parseArp(p: Uint8Array): ArpPacket | null {
  if (p.length < 28) return null;
  const v = view(p);
  if (v.getUint16(0) !== 1 || v.getUint16(2) !== ETH_IPV4 || p[4] !== 6 || p[5] !== 4) return null;
  return { op: v.getUint16(6), senderMac: p.slice(8, 14), senderIp: v.getUint32(14), targetMac: p.slice(18, 24), targetIp: v.getUint32(24) };
}

export function buildArp(a: ArpPacket): Uint8Array {
  const p = new Uint8Array(28);
  const v = view(p);
  v.setUint16(0, 1);
  v.setUint16(2, ETH_IPV4);
  p[4] = 6;
  p[5] = 4;
  v.setUint16(6, a.op);
  p.set(a.senderMac, 8);
  v.setUint32(14, a.senderIp);
  p.set(a.targetMac, 18);
  v.setUint32(24, a.targetIp);
  return p;
}

export function parseIpv4(p: Uint8Array): Ipv4Packet | null {
  if (p.length < 20 || p[0] >> 4 !== 4) return null;
  const ihl = (p[0] & 15) * 4;
  const v = view(p);
  const total = v.getUint16(2);
  if (ihl < 20 || total < ihl || total > p.length) return null;
  if (checksum(p.subarray(0, ihl)) !== 0) return null;
  const frag = v.getUint16(6);
  return {
    src: v.getUint32(12), dst: v.getUint32(16), proto: p[9], ttl: p[8], id: v.getUint16(4),
    fragmented: (frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0,
    payload: p.subarray(ihl, total), header: p.subarray(0, ihl),
  };
}

let nextId = 1;

export function buildIpv4(src: Ip, dst: Ip, proto: number, payload: Uint8Array, ttl = 64): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p.set(payload, 20);
  writeIpv4(p, src, dst, proto, ttl);
  return p;
}

/** The IPv4 header into p[0..20] for the transport bytes already at p[20..], checksums included. */
function writeIpv4(p: Uint8Array, src: Ip, dst: Ip, proto: number, ttl = 64): void {
  const v = view(p);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, nextId = (nextId + 1) & 0xffff);
  v.setUint16(6, 0x4000); // don't fragment
  p[8] = ttl;
  p[9] = proto;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  if (proto === PROTO_TCP || proto === PROTO_UDP) {
    const payload = p.subarray(20);
    const at = proto === PROTO_TCP ? 16 : 6;
    const sum = checksum(payload, pseudoSum(src, dst, proto, payload.length));
    v.setUint16(20 + at, proto === PROTO_UDP && sum === 0 ? 0xffff : sum);
  }
}

/**
 * An IPv4 packet (20-byte header, as buildIpv4 makes) larger than `mtu` as fragments (RFC 791):
 * for UDP toward the guest, which reassembles them; a whole oversized datagram with DF set would
 * be refused where the guest forwards it to a container's 1500-byte veth.
 */
export function fragmentIpv4(p: Uint8Array, mtu: number): Uint8Array[] {
  if (p.length <= mtu) return [p];
  const step = Math.floor((mtu - 20) / 8) * 8;
  const out: Uint8Array[] = [];
  for (let off = 20; off < p.length; off += step) {
    const n = Math.min(step, p.length - off);
    const f = new Uint8Array(20 + n);
    f.set(p.subarray(0, 20));
    f.set(p.subarray(off, off + n), 20);
    const v = view(f);
    v.setUint16(2, f.length);
    v.setUint16(6, (off + n < p.length ? 0x2000 : 0) | ((off - 20) / 8)); // MF, offset; no DF
    v.setUint16(10, 0);
    v.setUint16(10, checksum(f.subarray(0, 20)));
    out.push(f);
  }
  return out;
}

/**
 * A whole Ethernet frame for one TCP segment in one allocation (a bulk transfer makes a thousand
 * 32 KiB frames per 32 MB: building the layers one copy at a time kept the GC busy 28% of the
 * time). `headroom` bytes before the frame stay free for the NIC's own header (net-pump.ts).
 */
export function buildTcpFrame(dstMac: Mac, srcMac: Mac, src: Ip, dst: Ip, s: TcpSegment, headroom = 0): Uint8Array {
  const f = new Uint8Array(headroom + 34 + tcpLength(s)).subarray(headroom);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = ETH_IPV4 >> 8;
  f[13] = ETH_IPV4 & 255;
  writeTcp(f.subarray(34), s);
  writeIpv4(f.subarray(14), src, dst, PROTO_TCP);
  return f;
}

/**
 * Writes the TCP or UDP checksum of the IPv4 packet `p` (header length `hl`) in place, over the
 * pseudo-header: for packets whose checksum the guest left to its NIC (offload.ts).
 */
export function fillTransportChecksum(p: Uint8Array, hl: number): void {
  const proto = p[9];
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return;
  const v = view(p);
  const at = hl + (proto === PROTO_TCP ? 16 : 6);
  const body = p.subarray(hl, v.getUint16(2));
  if (body.length < at - hl + 2) return;
  v.setUint16(at, 0);
  const sum = checksum(body, pseudoSum(v.getUint32(12), v.getUint32(16), proto, body.length));
  v.setUint16(at, proto === PROTO_UDP && sum === 0 ? 0xffff : sum);
}

/** True when a TCP or UDP payload's checksum (over the pseudo-header) holds; UDP 0 means none. */
export function transportChecksumOk(ip: Ipv4Packet): boolean {
  if (ip.proto === PROTO_UDP && ip.payload.length >= 8 && ip.payload[6] === 0 && ip.payload[7] === 0) return true;
  return checksum(ip.payload, pseudoSum(ip.src, ip.dst, ip.proto, ip.payload.length)) === 0;
}

export function parseUdp(p: Uint8Array): UdpDatagram | null {
  if (p.length < 8) return null;
  const v = view(p);
  const len = v.getUint16(4);
  if (len < 8 || len > p.length) return null;
  return { srcPort: v.getUint16(0), dstPort: v.getUint16(2), payload: p.subarray(8, len) };
}

/** The UDP header and payload; buildIpv4 fills the checksum. */
export function buildUdp(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + payload.length);
  const v = view(p);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint16(4, p.length);
  p.set(payload, 8);
  return p;
}

export function parseTcp(p: Uint8Array): TcpSegment | null {
  if (p.length < 20) return null;
  const v = view(p);
  const off = (p[12] >> 4) * 4;
  if (off < 20 || off > p.length) return null;
  const seg: TcpSegment = {
    srcPort: v.getUint16(0), dstPort: v.getUint16(2), seq: v.getUint32(4), ack: v.getUint32(8),
    flags: p[13] & 0x3f, window: v.getUint16(14), payload: p.subarray(off),
  };
  for (let i = 20; i < off;) {
    const kind = p[i];
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = p[i + 1];
    if (len < 2 || i + len > off) break;
    if (kind === 2 && len === 4) seg.mss = v.getUint16(i + 2);
    if (kind === 3 && len === 3) seg.wscale = Math.min(p[i + 2], 14);
    i += len;
  }
  return seg;
}

/** The TCP header (with MSS and window-scale options when set) and payload; buildIpv4 fills the checksum. */
export function buildTcp(s: TcpSegment): Uint8Array {
  const p = new Uint8Array(tcpLength(s));
  writeTcp(p, s);
  return p;
}

function tcpLength(s: TcpSegment): number {
  return 20 + (s.mss !== undefined ? 4 : 0) + (s.wscale !== undefined ? 4 : 0) + s.payload.length;
}

/** The TCP header and payload into `p` (exactly tcpLength(s) bytes). */
function writeTcp(p: Uint8Array, s: TcpSegment): void {
  const hl = p.length - s.payload.length;
  const v = view(p);
  v.setUint16(0, s.srcPort);
  v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, s.ack >>> 0);
  p[12] = (hl / 4) << 4;
  p[13] = s.flags;
  v.setUint16(14, s.window);
  let o = 20;
  if (s.mss !== undefined) {
    p[o] = 2;
    p[o + 1] = 4;
    v.setUint16(o + 2, s.mss);
    o += 4;
  }
  if (s.wscale !== undefined) {
    p[o] = 1; // NOP, to keep the options 4-aligned
    p[o + 1] = 3;
    p[o + 2] = 3;
    p[o + 3] = s.wscale;
  }
  p.set(s.payload, hl);
}

export function parseIcmp(p: Uint8Array): IcmpMessage | null {
  if (p.length < 8 || checksum(p) !== 0) return null;
  return { type: p[0], code: p[1], rest: p.subarray(4) };
}

export function buildIcmp(type: number, code: number, rest: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + rest.length);
  p[0] = type;
  p[1] = code;
  p.set(rest, 4);
  view(p).setUint16(2, checksum(p));
  return p;
}

function pseudoSum(src: Ip, dst: Ip, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** The Internet checksum (RFC 1071) of `data`, starting from a partial `sum`. */
export function checksum(data: Uint8Array, sum = 0): number {
  const n = data.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}
