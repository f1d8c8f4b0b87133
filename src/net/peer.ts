/**
 * The host's end of the guest's NIC: everything on the other side of eth0. It is the guest's
 * gateway (10.0.2.2) and DNS server (10.0.2.3), answers ARP for every address, terminates the
 * guest's TCP connections and hands each to a Dialer (real sockets on Node, a Wisp relay in a
 * page) after policy.ts allowed it, and opens TCP connections into the guest for published ports.
 * Packets from any source address are accepted (containers are routed, not NATed, by the guest);
 * replies go to the guest's MAC, learned from its frames or asked for with ARP.
 *
 * Frames come in batches (`input`) and go out in batches (`send`); ACKs owed for a batch go out
 * once at its end. A flood of connections is capped (`maxConnections`); beyond it SYNs are reset.
 */
import { answerQuery, type NameResolver, type UpstreamResolver } from './dns.ts';
import { lateEvents, pipe, type Duplex, type DuplexEvents } from './duplex.ts';
import {
  buildArp, buildEth, buildIcmp, buildIpv4, buildTcp, buildTcpFrame, buildUdp, ETH_ARP, ETH_IPV4, fragmentIpv4, ipFromString, ipToString, LINK_MTU,
  parseArp, parseEth, parseIcmp, parseIpv4, parseTcp, parseUdp, PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN,
  transportChecksumOk, type Ip, type Ipv4Packet, type Mac, type TcpSegment,
} from './frames.ts';
import { VIRTIO_NET_HDR_LEN } from './offload.ts';
import { decide, GUEST_NET, type Verdict } from './policy.ts';
import { Reassembler } from './reassembly.ts';
import { LINGER_MS, TcpConnection, type TcpError } from './tcp.ts';

/** Opens host-side streams for the guest's connections. Rejects with an Error whose `code` says why (ECONNREFUSED ...). */
export interface Dialer {
  tcp(host: string, port: number, events: DuplexEvents): Promise<Duplex>;
  /** One datagram out; replies come back through `reply`. Absent: UDP other than DNS is unreachable. */
  udp?(host: string, port: number, payload: Uint8Array, reply: (payload: Uint8Array) => void, flowKey: string): void;
}

export interface NetPeerOptions {
  /** Frames for the guest, a batch at a time. */
  send(frames: Uint8Array[]): void;
  /** Outbound to the real network; null: none (every outbound attempt fails at once). */
  dialer?: Dialer | null;
  /** Reaches the host's loopback for host-gateway containers; default `dialer`. */
  loopback?: Dialer | null;
  resolve?: NameResolver;
  upstream?: UpstreamResolver;
  /** Container IPs given `--add-host X:host-gateway`; the engine keeps it current. */
  hostGatewaySources?: Set<string>;
  /** Container subnets outside 172.16.0.0/12 (kept current by the VM runtime): never routed out. */
  containerSubnets?: Set<string>;
  maxConnections?: number;
  /**
   * The guest's NIC offers checksum offload (net-pump.ts, offload.ts): its TCP and UDP checksums
   * may be left partial, so they are not checked (the link is a memory copy, nothing corrupts it).
   */
  checksumOffload?: boolean;
  /**
   * The largest TCP segment sent to the guest when its NIC takes coalesced frames (net-pump.ts
   * marks them GSO); default: the connection's MSS. 32 KiB: two fill the 64 KiB window a Linux
   * receiver starts with, so its ACK-every-second-segment rule keeps the flow going.
   */
  segmentSize?: number;
  /**
   * Packets for a container of the same network in another VM (another skiff process): true when
   * taken (relayed as they are, the guest's IPv4 packet), false to handle them here as usual.
   */
  relay?: (packet: Uint8Array, ip: Ipv4Packet) => boolean;
  now?: () => number;
  trace?: (line: string) => void;
}

/** Free bytes before each TCP frame for the NIC's header (net/offload.ts withRxHeader): one copy fewer per frame. */
const FRAME_HEADROOM = VIRTIO_NET_HDR_LEN;

export const GATEWAY_MAC: Mac = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);
const BROADCAST: Mac = Uint8Array.of(255, 255, 255, 255, 255, 255);

interface Entry { conn: TcpConnection; events: DuplexEvents; touched: boolean }

/** A UDP flow from the host into the guest (a published UDP port's peer on the host). */
export interface UdpFlow {
  /** One datagram to the guest's address and port, from 10.0.2.2 and the flow's own port. */
  send(payload: Uint8Array): void;
  close(): void;
}

export class NetPeer {
  readonly hostGatewaySources: Set<string>;
  private guestMac: Mac | null = null;
  private awaitingMac: Uint8Array[] = [];
  private conns = new Map<string, Entry>();
  private out: Uint8Array[] = [];
  private nextPort = 40000;
  /** Published UDP flows by `guestIp:guestPort>localPort`: where the guest's answers go. */
  private udpFlows = new Map<string, (payload: Uint8Array) => void>();
  private nextUdpPort = 40000;
  private readonly fragments = new Reassembler();
  private readonly now: () => number;
  readonly stats = { framesIn: 0, framesOut: 0, dropped: 0, refused: 0, relayed: 0, injected: 0 };

  constructor(private readonly opts: NetPeerOptions) {
    this.hostGatewaySources = opts.hostGatewaySources ?? new Set();
    this.now = opts.now ?? (() => performance.now());
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Frames from the guest. */
  input(frames: Uint8Array[]): void {
    for (const f of frames) {
      this.stats.framesIn++;
      try {
        this.frame(f);
      } catch (err) {
        this.stats.dropped++;
        this.opts.trace?.(`dropped a frame: ${(err as Error).message}`);
      }
    }
    for (const e of this.conns.values()) if (e.touched) { e.touched = false; e.conn.flushAck(); }
    this.flush();
  }

  /** Retransmissions, probes and lingering connections; call every ~50 ms. */
  tick(): void {
    const now = this.now();
    this.fragments.expire(now);
    for (const [key, e] of this.conns) {
      e.conn.tick(now);
      if (e.conn.state === 'closed' && now - e.conn.closedAt > LINGER_MS) this.conns.delete(key);
    }
    this.flush();
  }

  /** The gateway's next local port (40000-60999, round robin) that `taken` does not claim; 0 if none in 20000 tries. */
  private freeLocalPort(counter: 'nextPort' | 'nextUdpPort', taken: (port: number) => boolean): number {
    for (let i = 0; i < 20000; i++) {
      const p = this[counter];
      this[counter] = p >= 60999 ? 40000 : p + 1;
      if (!taken(p)) return p;
    }
    return 0;
  }

  /** A connection from the host into the guest (published ports): to `ip:port` from 10.0.2.2. */
  connect(ip: string, port: number, events: DuplexEvents): Duplex {
    const dst = ipFromString(ip);
    const local = this.freeLocalPort('nextPort', (p) => this.conns.has(key(dst, port, GUEST_NET.gateway, p)));
    if (!local) throw new Error('no free local port for a connection into the guest');
    const k = key(dst, port, GUEST_NET.gateway, local);
    const entry = { events, touched: false } as Entry;
    entry.conn = new TcpConnection(this.tcpHooks(entry, GUEST_NET.gateway, local, dst, port), { active: true, now: this.now(), segment: this.opts.segmentSize });
    this.conns.set(k, entry);
    this.flush();
    return guestSide(entry.conn);
  }

  /**
   * A UDP flow into the guest (published UDP ports): datagrams to `ip:port` from 10.0.2.2 and a
   * local port of the flow's own, so that what the guest answers to that port reaches `onReply`.
   */
  udpFlow(ip: string, port: number, onReply: (payload: Uint8Array) => void): UdpFlow {
    const dst = ipFromString(ip);
    const local = this.freeLocalPort('nextUdpPort', (p) => this.udpFlows.has(key(dst, port, GUEST_NET.gateway, p)));
    if (!local) throw new Error('no free local port for a UDP flow into the guest');
    const k = key(dst, port, GUEST_NET.gateway, local);
    this.udpFlows.set(k, onReply);
    return {
      send: (payload) => {
        if (this.udpFlows.get(k) !== onReply) return;
        this.emitIp(GUEST_NET.gateway, dst, PROTO_UDP, buildUdp(local, port, payload));
      },
      close: () => { if (this.udpFlows.get(k) === onReply) this.udpFlows.delete(k); },
    };
  }

  /**
   * An IPv4 packet relayed from another VM's peer, delivered to the guest as if routed by
   * 10.0.2.2. The caller checked who may send it (VmNetwork); this checks it is one well-formed,
   * unfragmented IPv4 packet of at most the link MTU, and returns false (dropped) otherwise.
   */
  inject(packet: Uint8Array): boolean {
    const ip = packet.length <= LINK_MTU ? parseIpv4(packet) : null;
    if (!ip || ip.fragmented || ip.header.length + ip.payload.length !== packet.length) { this.stats.dropped++; return false; }
    this.stats.injected++;
    const frame = buildEth(this.guestMac ?? BROADCAST, GATEWAY_MAC, ETH_IPV4, packet);
    if (this.guestMac) this.queue(frame);
    else if (this.awaitingMac.length < 256) { this.awaitingMac.push(frame); if (this.awaitingMac.length === 1) this.sendArp(1, BROADCAST, GUEST_NET.guest); }
    return true;
  }

  /** Ask the guest for its MAC (after a restore nothing may have come from it yet). */
  probeGuest(): void {
    this.sendArp(1, BROADCAST, GUEST_NET.guest);
    this.flush();
  }

  private frame(f: Uint8Array): void {
    const eth = parseEth(f);
    if (!eth) return;
    if (eth.type === ETH_ARP) return this.arp(eth.payload);
    if (eth.type !== ETH_IPV4) return;
    const parsed = parseIpv4(eth.payload);
    if (!parsed) { this.stats.dropped++; return; }
    this.learn(eth.src);
    // A fragmented datagram (UDP past the MTU) is handled here once whole; never relayed.
    const ip = parsed.fragmented ? (parsed.proto === PROTO_TCP ? null : this.fragments.add(parsed, this.now())) : parsed;
    if (!ip) return;
    if (!parsed.fragmented && this.opts.relay?.(eth.payload.subarray(0, ip.header.length + ip.payload.length), ip)) { this.stats.relayed++; return; }
    if (ip.proto === PROTO_TCP) this.tcp(ip);
    else if (ip.proto === PROTO_UDP) this.udp(ip);
    else if (ip.proto === PROTO_ICMP) this.icmp(ip);
  }

  private arp(p: Uint8Array): void {
    const a = parseArp(p);
    if (!a) return;
    if (a.senderIp === GUEST_NET.guest) this.learn(a.senderMac);
    if (a.op === 1 && a.targetIp !== GUEST_NET.guest && a.targetIp !== a.senderIp) {
      this.emitEth(a.senderMac, ETH_ARP, buildArp({ op: 2, senderMac: GATEWAY_MAC, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }));
    }
  }

  private learn(mac: Uint8Array): void {
    if (this.guestMac && this.guestMac.every((b, i) => b === mac[i])) return;
    this.guestMac = mac.slice();
    for (const f of this.awaitingMac.splice(0)) { f.set(this.guestMac, 0); this.queue(f); }
  }

  private tcp(ip: Ipv4Packet): void {
    const seg = parseTcp(ip.payload);
    if (!seg || !this.checksumOk(ip)) { this.stats.dropped++; return; }
    const k = key(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const e = this.conns.get(k);
    if (e) {
      e.conn.receive(seg, this.now());
      e.touched = true;
      return;
    }
    if (seg.flags & TCP_RST) return;
    if ((seg.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return this.reset(ip, seg);
    const verdict = decide(ip.src, ipToString(ip.src), ip.dst, ipToString(ip.dst), seg.dstPort, 'tcp', this.policy());
    if (this.conns.size >= (this.opts.maxConnections ?? 1024)) return this.reset(ip, seg, 'too many connections');
    if (verdict.kind === 'outbound' || verdict.kind === 'host-loopback') return this.dial(ip, seg, k, verdict);
    this.reject(ip, seg, verdict);
  }

  private dial(ip: Ipv4Packet, seg: TcpSegment, k: string, v: Extract<Verdict, { kind: 'outbound' | 'host-loopback' }>): void {
    const dialer = v.kind === 'host-loopback' ? (this.opts.loopback ?? this.opts.dialer) : this.opts.dialer;
    if (!dialer) return this.reject(ip, seg, { kind: 'unreachable', reason: 'no dialer' });
    const entry = { events: lateEvents(), touched: false } as Entry;
    entry.conn = TcpConnection.fromSyn(this.tcpHooks(entry, ip.dst, seg.dstPort, ip.src, seg.srcPort), seg, { now: this.now(), segment: this.opts.segmentSize });
    this.conns.set(k, entry);
    const hostEvents = lateEvents();
    this.opts.trace?.(`tcp ${ipToString(ip.src)}:${seg.srcPort} -> ${v.host}:${v.port} (${v.kind})`);
    dialer.tcp(v.host, v.port, hostEvents).then((host) => {
      if (entry.conn.state === 'closed') { host.destroy(); return; }
      pipe(guestSide(entry.conn), entry.events, host, hostEvents);
      entry.conn.accept();
      this.flush();
    }, (err: { code?: string; message?: string }) => {
      this.opts.trace?.(`tcp to ${v.host}:${v.port} failed: ${err?.code ?? err?.message}`);
      if (err?.code === 'ECONNREFUSED' || entry.conn.state === 'closed') entry.conn.refuse();
      else { entry.conn.abort(); this.unreachable(ip, 1); }
      this.flush();
    });
  }

  private reject(ip: Ipv4Packet, seg: TcpSegment | null, v: Verdict): void {
    this.stats.refused++;
    if (v.kind !== 'drop') this.opts.trace?.(`refused ${ipToString(ip.src)} -> ${ipToString(ip.dst)}: ${'reason' in v ? v.reason : v.kind}`);
    if (v.kind === 'refuse') { if (seg) this.reset(ip, seg); else this.unreachable(ip, 3); }
    else if (v.kind === 'unreachable') this.unreachable(ip, 13);
  }

  private reset(ip: Ipv4Packet, seg: TcpSegment, why?: string): void {
    if (why) this.opts.trace?.(`reset ${ipToString(ip.src)}:${seg.srcPort}: ${why}`);
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & 1 ? 1 : 0);
    const rst: TcpSegment = seg.flags & TCP_ACK
      ? { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: TCP_RST, window: 0, payload: new Uint8Array(0) }
      : { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: 0, ack: (seg.seq + len) >>> 0, flags: TCP_RST | TCP_ACK, window: 0, payload: new Uint8Array(0) };
    this.emitIp(ip.dst, ip.src, PROTO_TCP, buildTcp(rst));
  }

  /** ICMP destination unreachable quoting the offending packet's header and first 8 bytes. */
  private unreachable(ip: Ipv4Packet, code: number): void {
    const quote = new Uint8Array(4 + ip.header.length + Math.min(8, ip.payload.length));
    quote.set(ip.header, 4);
    quote.set(ip.payload.subarray(0, 8), 4 + ip.header.length);
    this.emitIp(GUEST_NET.gateway, ip.src, PROTO_ICMP, buildIcmp(3, code, quote));
  }

  private checksumOk(ip: Ipv4Packet): boolean {
    return this.opts.checksumOffload === true || transportChecksumOk(ip);
  }

  private udp(ip: Ipv4Packet): void {
    const d = parseUdp(ip.payload);
    if (!d || !this.checksumOk(ip)) { this.stats.dropped++; return; }
    if (ip.dst === GUEST_NET.gateway) {
      const flow = this.udpFlows.get(key(ip.src, d.srcPort, ip.dst, d.dstPort));
      if (flow) { flow(d.payload.slice()); return; }
    }
    const v = decide(ip.src, ipToString(ip.src), ip.dst, ipToString(ip.dst), d.dstPort, 'udp', this.policy());
    const reply = (payload: Uint8Array) => {
      this.emitIp(ip.dst, ip.src, PROTO_UDP, buildUdp(d.dstPort, d.srcPort, payload));
      this.flush();
    };
    if (v.kind === 'dns') {
      void answerQuery(d.payload, ipToString(ip.src), { resolve: this.opts.resolve, upstream: this.opts.upstream }).then((r) => { if (r) reply(r); });
      return;
    }
    const dialer = v.kind === 'host-loopback' ? (this.opts.loopback ?? this.opts.dialer) : v.kind === 'outbound' ? this.opts.dialer : null;
    if ((v.kind === 'outbound' || v.kind === 'host-loopback') && dialer?.udp) {
      dialer.udp(v.host, v.port, d.payload.slice(), reply, `${ipToString(ip.src)}:${d.srcPort}>${v.host}:${v.port}`);
      return;
    }
    this.reject(ip, null, v.kind === 'outbound' || v.kind === 'host-loopback' ? { kind: 'unreachable', reason: 'no UDP outbound' } : v);
  }

  private icmp(ip: Ipv4Packet): void {
    const m = parseIcmp(ip.payload);
    if (!m || m.type !== 8) return;
    if (ip.dst === GUEST_NET.gateway || ip.dst === GUEST_NET.dns) this.emitIp(ip.dst, ip.src, PROTO_ICMP, buildIcmp(0, 0, m.rest));
  }

  private tcpHooks(entry: Entry, localIp: Ip, localPort: number, remoteIp: Ip, remotePort: number) {
    return {
      send: (seg: TcpSegment) => {
        seg.srcPort = localPort;
        seg.dstPort = remotePort;
        if (this.guestMac) this.queue(buildTcpFrame(this.guestMac, GATEWAY_MAC, localIp, remoteIp, seg, FRAME_HEADROOM));
        else this.emitIp(localIp, remoteIp, PROTO_TCP, buildTcp(seg));
      },
      onData: (b: Uint8Array) => entry.events.data(b),
      onEnd: () => entry.events.end(),
      onDrain: () => entry.events.drain(),
      onClose: (err?: TcpError) => entry.events.close(err),
    };
  }

  private policy() {
    return { hostGatewaySources: this.hostGatewaySources, outbound: !!this.opts.dialer, ...(this.opts.containerSubnets ? { containerSubnets: this.opts.containerSubnets } : {}) };
  }

  private sendArp(op: number, mac: Mac, targetIp: Ip): void {
    this.emitEth(mac, ETH_ARP, buildArp({ op, senderMac: GATEWAY_MAC, senderIp: GUEST_NET.gateway, targetMac: new Uint8Array(6), targetIp }));
  }

  private emitIp(src: Ip, dst: Ip, proto: number, payload: Uint8Array): void {
    const packet = buildIpv4(src, dst, proto, payload);
    // A datagram past the MTU goes in fragments (TCP never: its big frames are GSO, net-pump.ts).
    if (packet.length > LINK_MTU && proto !== PROTO_TCP) {
      for (const f of fragmentIpv4(packet, LINK_MTU)) this.emitIpPacket(f);
      return;
    }
    this.emitIpPacket(packet);
  }

  private emitIpPacket(packet: Uint8Array): void {
    const frame = buildEth(this.guestMac ?? BROADCAST, GATEWAY_MAC, ETH_IPV4, packet);
    if (this.guestMac) { this.queue(frame); return; }
    if (this.awaitingMac.length < 256) this.awaitingMac.push(frame);
    if (this.awaitingMac.length === 1) this.sendArp(1, BROADCAST, GUEST_NET.guest);
  }

  private emitEth(dst: Mac, type: number, payload: Uint8Array): void {
    this.queue(buildEth(dst, GATEWAY_MAC, type, payload));
  }

  /** Frames made outside `input` (a host socket's data, a dial's answer) leave at the end of the task's microtasks. */
  private queue(frame: Uint8Array): void {
    if (!this.out.length) queueMicrotask(() => this.flush());
    this.out.push(frame);
  }

  private flush(): void {
    if (!this.out.length) return;
    const frames = this.out;
    this.out = [];
    this.stats.framesOut += frames.length;
    this.opts.send(frames);
  }
}

function key(remoteIp: Ip, remotePort: number, localIp: Ip, localPort: number): string {
  return `${remoteIp}:${remotePort}>${localIp}:${localPort}`;
}

/** A guest connection as a Duplex. */
function guestSide(conn: TcpConnection): Duplex {
  return {
    write: (b) => conn.write(b),
    end: () => conn.end(),
    destroy: () => conn.abort(),
    pause: () => conn.pause(),
    resume: () => conn.resume(),
  };
}
