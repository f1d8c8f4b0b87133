/**
 * A scripted guest for the peer's tests: builds the Ethernet frames a Linux guest would send and
 * decodes what the peer sends back. Real frames both ways, checksums included.
 */
import {
  buildArp, buildEth, buildIcmp, buildIpv4, buildTcp, buildUdp, ETH_ARP, ETH_IPV4, ipFromString, parseArp, parseEth,
  parseIcmp, parseIpv4, parseTcp, parseUdp, PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK,
  type ArpPacket, type IcmpMessage, type Ipv4Packet, type TcpSegment, type UdpDatagram,
} from '../../src/net/frames.ts';
import { GATEWAY_MAC, NetPeer, type NetPeerOptions } from '../../src/net/peer.ts';

export const GUEST_MAC = Uint8Array.of(0x00, 0x22, 0x15, 1, 2, 3);

export interface Received {
  eth: ReturnType<typeof parseEth>;
  arp?: ArpPacket;
  ip?: Ipv4Packet;
  tcp?: TcpSegment;
  udp?: UdpDatagram;
  icmp?: IcmpMessage;
}

export class GuestSim {
  readonly peer: NetPeer;
  received: Received[] = [];
  clock = 0;

  constructor(opts: Omit<NetPeerOptions, 'send'> = {}) {
    this.peer = new NetPeer({ now: () => this.clock, ...opts, send: (frames) => { for (const f of frames) this.received.push(decode(f)); } });
  }

  /** Everything received since the last call. */
  take(): Received[] {
    const r = this.received;
    this.received = [];
    return r;
  }

  arpWhoHas(target: string): void {
    this.peer.input([buildEth(Uint8Array.of(255, 255, 255, 255, 255, 255), GUEST_MAC, ETH_ARP,
      buildArp({ op: 1, senderMac: GUEST_MAC, senderIp: ipFromString('10.0.2.15'), targetMac: new Uint8Array(6), targetIp: ipFromString(target) }))]);
  }

  ip(src: string, dst: string, proto: number, payload: Uint8Array): Uint8Array {
    return buildEth(GATEWAY_MAC, GUEST_MAC, ETH_IPV4, buildIpv4(ipFromString(src), ipFromString(dst), proto, payload));
  }

  tcp(src: string, dst: string, seg: Partial<TcpSegment> & { srcPort: number; dstPort: number; flags: number }): void {
    this.peer.input([this.tcpFrame(src, dst, seg)]);
  }

  tcpFrame(src: string, dst: string, seg: Partial<TcpSegment> & { srcPort: number; dstPort: number; flags: number }): Uint8Array {
    return this.ip(src, dst, PROTO_TCP, buildTcp({ seq: 0, ack: 0, window: 65535, payload: new Uint8Array(0), ...seg }));
  }

  udp(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array): void {
    this.peer.input([this.ip(src, dst, PROTO_UDP, buildUdp(srcPort, dstPort, payload))]);
  }

  ping(src: string, dst: string, data: Uint8Array): void {
    this.peer.input([this.ip(src, dst, PROTO_ICMP, buildIcmp(8, 0, data))]);
  }

  advance(ms: number): void {
    this.clock += ms;
    this.peer.tick();
  }
}

export function decode(f: Uint8Array): Received {
  const eth = parseEth(f)!;
  const r: Received = { eth };
  if (eth.type === ETH_ARP) r.arp = parseArp(eth.payload) ?? undefined;
  if (eth.type === ETH_IPV4) {
    const ip = parseIpv4(eth.payload);
    if (!ip) throw new Error('the peer sent a bad IPv4 header');
    r.ip = ip;
    if (ip.proto === PROTO_TCP) r.tcp = parseTcp(ip.payload) ?? undefined;
    if (ip.proto === PROTO_UDP) r.udp = parseUdp(ip.payload) ?? undefined;
    if (ip.proto === PROTO_ICMP) r.icmp = parseIcmp(ip.payload) ?? undefined;
  }
  return r;
}

/** Lets queued microtasks (dial results, flushes) run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));

export { TCP_ACK };
