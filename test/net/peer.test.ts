/**
 * The host's network peer fed real Ethernet frames by a scripted guest: ARP, ping, DNS, the
 * guest's outbound TCP through a fake dialer, connections into the guest, policy refusals,
 * retransmission, windows and backpressure, and a connection flood.
 */
import { describe, expect, it } from 'vitest';
import { lateEvents, type Duplex, type DuplexEvents } from '../../src/net/duplex.ts';
import { ipFromString, ipToString, macToString, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/net/frames.ts';
import { GATEWAY_MAC, type Dialer } from '../../src/net/peer.ts';
import { GuestSim, GUEST_MAC, settle } from './guest-sim.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const C = '172.17.0.2';

/** A dialer whose streams record what they get and can be answered by the test. */
function fakeDialer(behaviour: 'ok' | 'refuse' | 'unreachable' = 'ok') {
  const streams: { host: string; port: number; got: Uint8Array[]; ended: boolean; paused: boolean; full: boolean; events: DuplexEvents; destroyed: boolean }[] = [];
  const dialer: Dialer = {
    async tcp(host, port, events) {
      if (behaviour !== 'ok') throw Object.assign(new Error(behaviour), { code: behaviour === 'refuse' ? 'ECONNREFUSED' : 'EHOSTUNREACH' });
      const s = { host, port, got: [] as Uint8Array[], ended: false, paused: false, full: false, events, destroyed: false };
      streams.push(s);
      const d: Duplex = {
        write: (b) => { s.got.push(b.slice()); return !s.full; },
        end: () => { s.ended = true; },
        destroy: () => { s.destroyed = true; },
        pause: () => { s.paused = true; },
        resume: () => { s.paused = false; },
      };
      return d;
    },
  };
  return { dialer, streams };
}

/** Guest SYN to dst:port, then the ACK of the peer's SYN-ACK; returns the sequence state. */
async function open(g: GuestSim, dst: string, port: number, src = C, srcPort = 33000) {
  g.tcp(src, dst, { srcPort, dstPort: port, flags: TCP_SYN, seq: 1000, mss: 1460 });
  await settle();
  const synAck = g.take().find((r) => r.tcp)!.tcp!;
  expect(synAck.flags).toBe(TCP_SYN | TCP_ACK);
  expect(synAck.ack).toBe(1001);
  const st = { seq: 1001, ack: (synAck.seq + 1) >>> 0, src, srcPort, dst, port };
  g.tcp(src, dst, { srcPort, dstPort: port, flags: TCP_ACK, seq: st.seq, ack: st.ack });
  return st;
}

describe('NetPeer', () => {
  it('answers ARP for the gateway and DNS addresses and learns the guest MAC', () => {
    const g = new GuestSim();
    g.arpWhoHas('10.0.2.2');
    const [r] = g.take();
    expect(r.arp!.op).toBe(2);
    expect(ipToString(r.arp!.senderIp)).toBe('10.0.2.2');
    expect(macToString(r.arp!.senderMac)).toBe(macToString(GATEWAY_MAC));
    expect(macToString(r.eth!.dst)).toBe(macToString(GUEST_MAC));
    g.arpWhoHas('10.0.2.15');
    expect(g.take()).toEqual([]); // the guest's own address is not ours to answer
  });

  it('answers pings to 10.0.2.2 with the same payload, and nothing for other hosts', () => {
    const g = new GuestSim();
    g.ping(C, '10.0.2.2', te.encode('\x00\x01\x00\x07hello'));
    const [r] = g.take();
    expect(r.icmp!.type).toBe(0);
    expect(td.decode(r.icmp!.rest)).toBe('\x00\x01\x00\x07hello');
    expect(ipToString(r.ip!.dst)).toBe(C);
    g.ping(C, '8.8.8.8', te.encode('abcd'));
    expect(g.take()).toEqual([]);
  });

  it('serves DNS: engine names, upstream names, NXDOMAIN at once', async () => {
    const asked: string[] = [];
    const g = new GuestSim({
      resolve: (name, src) => { asked.push(`${name}@${src}`); return name === 'web' ? ['172.18.0.5'] : null; },
      upstream: async (name) => { if (name === 'example.com') return ['93.184.216.34']; throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' }); },
    });
    const query = (id: number, name: string, type = 1) => {
      const labels = name.split('.').flatMap((l) => [l.length, ...te.encode(l)]);
      return Uint8Array.of(id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1);
    };
    const answer = async (name: string, type = 1) => {
      g.udp(C, '10.0.2.3', 5353, 53, query(7, name, type));
      await settle();
      const r = g.take()[0];
      expect(r.udp!.srcPort).toBe(53);
      expect(ipToString(r.ip!.src)).toBe('10.0.2.3');
      const m = r.udp!.payload;
      const rcode = m[3] & 15;
      const count = (m[6] << 8) | m[7];
      const ips = Array.from({ length: count }, (_, i) => [...m.subarray(m.length - 16 * (count - i) + 12, m.length - 16 * (count - i) + 16)].join('.'));
      return { id: (m[0] << 8) | m[1], rcode, ips };
    };
    expect(await answer('web')).toEqual({ id: 7, rcode: 0, ips: ['172.18.0.5'] });
    expect(asked).toEqual([`web@${C}`]);
    expect(await answer('example.com')).toEqual({ id: 7, rcode: 0, ips: ['93.184.216.34'] });
    expect(await answer('example.com', 28)).toEqual({ id: 7, rcode: 0, ips: [] });
    expect((await answer('nope.invalid')).rcode).toBe(3);
  });

  it('bridges a guest connection to a dialed host stream, both directions, with an orderly close', async () => {
    const { dialer, streams } = fakeDialer();
    const g = new GuestSim({ dialer });
    const st = await open(g, '93.184.216.34', 80);
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ host: '93.184.216.34', port: 80 });
    // guest -> host
    g.tcp(st.src, st.dst, { srcPort: st.srcPort, dstPort: st.port, flags: TCP_ACK | TCP_PSH, seq: st.seq, ack: st.ack, payload: te.encode('GET / HTTP/1.0\r\n\r\n') });
    st.seq += 18;
    expect(td.decode(streams[0].got[0])).toBe('GET / HTTP/1.0\r\n\r\n');
    const ack = g.take().find((r) => r.tcp)!.tcp!;
    expect(ack.ack).toBe(st.seq);
    // host -> guest, then the host closes
    streams[0].events.data(te.encode('HTTP/1.0 200 OK\r\n\r\nhi'));
    streams[0].events.end();
    await settle();
    const segs = g.take().map((r) => r.tcp!);
    expect(td.decode(segs[0].payload)).toBe('HTTP/1.0 200 OK\r\n\r\nhi');
    expect(segs.at(-1)!.flags & TCP_FIN).toBeTruthy();
    const fin = segs.at(-1)!;
    // guest acks the data and the FIN and closes its side
    g.tcp(st.src, st.dst, { srcPort: st.srcPort, dstPort: st.port, flags: TCP_ACK | TCP_FIN, seq: st.seq, ack: (fin.seq + 1) >>> 0 });
    expect(streams[0].ended).toBe(true);
    const last = g.take().find((r) => r.tcp)!.tcp!;
    expect(last.ack).toBe(st.seq + 1);
    g.advance(3000);
    expect(g.peer.connectionCount).toBe(0);
  });

  it('a refused dial resets the SYN; an unreachable one answers ICMP; no dialer fails at once', async () => {
    const refused = new GuestSim({ dialer: fakeDialer('refuse').dialer });
    refused.tcp(C, '1.2.3.4', { srcPort: 4000, dstPort: 81, flags: TCP_SYN, seq: 5 });
    await settle();
    expect(refused.take().map((r) => r.tcp!.flags)).toEqual([TCP_RST | TCP_ACK]);
    const unreach = new GuestSim({ dialer: fakeDialer('unreachable').dialer });
    unreach.tcp(C, '1.2.3.4', { srcPort: 4000, dstPort: 81, flags: TCP_SYN, seq: 5 });
    await settle();
    expect(unreach.take().some((r) => r.icmp?.type === 3)).toBe(true);
    const none = new GuestSim({ dialer: null });
    none.tcp(C, '1.2.3.4', { srcPort: 4000, dstPort: 80, flags: TCP_SYN, seq: 5 });
    const [r] = none.take();
    expect(r.icmp).toMatchObject({ type: 3, code: 13 });
    expect(ipToString(r.ip!.dst)).toBe(C);
  });

  it('keeps networks apart and the host loopback closed unless host-gateway was given', async () => {
    const { dialer, streams } = fakeDialer();
    const loop = fakeDialer();
    const subnets = new Set<string>();
    const g = new GuestSim({ dialer, loopback: loop.dialer, containerSubnets: subnets });
    g.tcp(C, '172.18.0.3', { srcPort: 4000, dstPort: 80, flags: TCP_SYN, seq: 5 });
    expect(g.take()[0].icmp).toMatchObject({ type: 3, code: 13 });
    // A user network past 172.31 (192.168.x.0/20) is a container subnet too once the runtime knows it.
    g.tcp(C, '192.168.16.5', { srcPort: 4003, dstPort: 80, flags: TCP_SYN, seq: 5 });
    await settle();
    expect(streams.map((s) => s.host)).toEqual(['192.168.16.5']);
    streams.length = 0;
    g.take();
    subnets.add('192.168.16.0/20');
    g.tcp(C, '192.168.16.6', { srcPort: 4004, dstPort: 80, flags: TCP_SYN, seq: 5 });
    expect(g.take()[0].icmp).toMatchObject({ type: 3, code: 13 });
    g.tcp(C, '10.0.2.2', { srcPort: 4001, dstPort: 8080, flags: TCP_SYN, seq: 5 });
    expect(g.take()[0].tcp!.flags & TCP_RST).toBeTruthy();
    g.peer.hostGatewaySources.add(C);
    await open(g, '10.0.2.2', 8080, C, 4002);
    expect(loop.streams.map((s) => `${s.host}:${s.port}`)).toEqual(['127.0.0.1:8080']);
    expect(streams).toHaveLength(0);
  });

  it('opens connections into the guest (ARP first), and retransmits what the guest did not acknowledge', async () => {
    const g = new GuestSim();
    const ev = lateEvents();
    const got: string[] = [];
    ev.data = (b) => { got.push(td.decode(b)); };
    const d = g.peer.connect(C, 80, ev);
    await settle();
    const [arp] = g.take();
    expect(arp.arp).toMatchObject({ op: 1, targetIp: ipFromString('10.0.2.15') });
    g.arpWhoHas('10.0.2.2'); // any frame from the guest teaches its MAC
    const out = g.take();
    const syn = out.find((r) => r.tcp)!.tcp!;
    expect(syn.flags).toBe(TCP_SYN);
    expect(macToString(out.find((r) => r.tcp)!.eth!.dst)).toBe(macToString(GUEST_MAC));
    g.tcp(C, '10.0.2.2', { srcPort: 80, dstPort: syn.srcPort, flags: TCP_SYN | TCP_ACK, seq: 500, ack: syn.seq + 1, mss: 1460 });
    const [ack] = g.take(); // nothing written yet: a bare ACK at the end of the batch
    expect(ack.tcp).toMatchObject({ flags: TCP_ACK, ack: 501 });
    d.write(te.encode('hello'));
    await settle();
    const first = g.take().find((r) => r.tcp)!.tcp!;
    expect(td.decode(first.payload)).toBe('hello');
    g.advance(100);
    expect(g.take()).toEqual([]);
    g.advance(1000); // past the RTO: the same bytes again
    const again = g.take().find((r) => r.tcp)!.tcp!;
    expect(again.seq).toBe(first.seq);
    expect(td.decode(again.payload)).toBe('hello');
    g.tcp(C, '10.0.2.2', { srcPort: 80, dstPort: syn.srcPort, flags: TCP_ACK | TCP_PSH, seq: 501, ack: first.seq + 5, payload: te.encode('world') });
    expect(got).toEqual(['world']);
    g.advance(5000);
    expect(g.take().filter((r) => r.tcp?.payload.length)).toEqual([]);
  });

  it('sends bytes written before the guest answered on the ACK of its SYN-ACK: one frame', async () => {
    const g = new GuestSim();
    g.arpWhoHas('10.0.2.2');
    g.take();
    const d = g.peer.connect(C, 80, lateEvents());
    d.write(te.encode('GET / HTTP/1.0\r\n\r\n'));
    await settle();
    const syn = g.take().find((r) => r.tcp)!.tcp!;
    g.tcp(C, '10.0.2.2', { srcPort: 80, dstPort: syn.srcPort, flags: TCP_SYN | TCP_ACK, seq: 500, ack: syn.seq + 1, mss: 1460 });
    const out = g.take().filter((r) => r.tcp);
    expect(out).toHaveLength(1);
    expect(out[0].tcp).toMatchObject({ flags: TCP_ACK | TCP_PSH, ack: 501, seq: syn.seq + 1 });
    expect(td.decode(out[0].tcp!.payload)).toBe('GET / HTTP/1.0\r\n\r\n');
  });

  it('respects the guest window and closes its own when the host consumer is paused', async () => {
    const { dialer, streams } = fakeDialer();
    const g = new GuestSim({ dialer });
    const st = await open(g, '5.6.7.8', 9000);
    g.take();
    // host -> guest: 200 KB against a 10 KB guest window
    g.tcp(st.src, st.dst, { srcPort: st.srcPort, dstPort: st.port, flags: TCP_ACK, seq: st.seq, ack: st.ack, window: 10_000 });
    streams[0].events.data(new Uint8Array(200_000).fill(7));
    await settle();
    const sent = g.take().map((r) => r.tcp!).filter((s) => s.payload.length);
    expect(sent.reduce((n, s) => n + s.payload.length, 0)).toBe(10_000);
    expect(Math.max(...sent.map((s) => s.payload.length))).toBe(1460);
    // guest -> host into a full host stream: the window shrinks to zero, then reopens on drain
    streams[0].full = true;
    let seq = st.seq;
    let lastWindow = 65535;
    let sentBytes = 0;
    for (let i = 0; i < 100 && lastWindow > 0; i++) {
      g.tcp(st.src, st.dst, { srcPort: st.srcPort, dstPort: st.port, flags: TCP_ACK, seq, ack: st.ack, window: 0, payload: new Uint8Array(1460).fill(i) });
      seq += 1460;
      sentBytes += 1460;
      lastWindow = g.take().filter((r) => r.tcp).at(-1)!.tcp!.window;
    }
    expect(lastWindow).toBe(0);
    expect(streams[0].got).toHaveLength(1); // one write said "full": the rest waits in the connection
    // a segment past the closed window is not taken
    g.tcp(st.src, st.dst, { srcPort: st.srcPort, dstPort: st.port, flags: TCP_ACK, seq, ack: st.ack, window: 0, payload: new Uint8Array(100) });
    const refusal = g.take().filter((r) => r.tcp).at(-1)!.tcp!;
    expect(refusal.window).toBe(0);
    const accepted = refusal.ack - st.seq;
    expect(accepted).toBeGreaterThan(65535 - 1460);
    expect(accepted).toBeLessThan(sentBytes);
    streams[0].full = false;
    streams[0].events.drain();
    await settle();
    expect(streams[0].got.reduce((n, b) => n + b.length, 0)).toBe(accepted);
    expect(g.take().filter((r) => r.tcp).at(-1)!.tcp!.window).toBe(65535);
  });

  it('scales windows when the guest offers it (RFC 7323): both directions', async () => {
    const { dialer, streams } = fakeDialer();
    const g = new GuestSim({ dialer });
    g.tcp(C, '5.6.7.8', { srcPort: 33001, dstPort: 80, flags: TCP_SYN, seq: 1000, mss: 1460, wscale: 7 });
    await settle();
    const synAck = g.take().find((r) => r.tcp)!.tcp!;
    expect(synAck.wscale).toBe(5);
    const ack = (synAck.seq + 1) >>> 0;
    // Window field 100 << 7 = 12800 bytes the peer may send.
    g.tcp(C, '5.6.7.8', { srcPort: 33001, dstPort: 80, flags: TCP_ACK, seq: 1001, ack, window: 100 });
    streams[0].events.data(new Uint8Array(50_000));
    await settle();
    const sent = g.take().map((r) => r.tcp!).filter((t) => t.payload.length);
    expect(sent.reduce((n, t) => n + t.payload.length, 0)).toBe(12_800);
    // Ours: 1 MiB >> 5 = 32768 in the field, more than the unscaled 65535 would allow.
    g.tcp(C, '5.6.7.8', { srcPort: 33001, dstPort: 80, flags: TCP_ACK | TCP_PSH, seq: 1001, ack, window: 100, payload: te.encode('x') });
    expect(g.take().find((r) => r.tcp)!.tcp!.window).toBe(32768);
    // A guest that offers no scaling gets none.
    g.tcp(C, '5.6.7.8', { srcPort: 33002, dstPort: 80, flags: TCP_SYN, seq: 1, mss: 1460 });
    await settle();
    expect(g.take().find((r) => r.tcp)!.tcp!.wscale).toBeUndefined();
  });

  it('a connection flood is capped: SYNs past the limit are reset, the peer stays responsive', async () => {
    const never: Dialer = { tcp: () => new Promise(() => {}) };
    const g = new GuestSim({ dialer: never, maxConnections: 64 });
    const frames = Array.from({ length: 5000 }, (_, i) => g.tcpFrame(C, '9.9.9.9', { srcPort: 10000 + i, dstPort: 80, flags: TCP_SYN, seq: i }));
    const t0 = performance.now();
    g.peer.input(frames);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(g.peer.connectionCount).toBe(64);
    expect(g.take().filter((r) => r.tcp && r.tcp.flags & TCP_RST)).toHaveLength(5000 - 64);
    g.ping(C, '10.0.2.2', te.encode('live'));
    expect(g.take()[0].icmp!.type).toBe(0);
  });

  it('drops frames with bad checksums and never throws on garbage', () => {
    const g = new GuestSim({ dialer: fakeDialer().dialer });
    const f = g.tcpFrame(C, '1.1.1.1', { srcPort: 1, dstPort: 2, flags: TCP_SYN });
    f[14 + 20 + 4] ^= 1; // the TCP sequence number: the checksum no longer holds
    g.peer.input([f]);
    let x = 1;
    const noise = Array.from({ length: 200 }, (_, i) => new Uint8Array(i * 7).map(() => (x = (x * 1103515245 + 12345) >>> 0) >>> 24));
    expect(() => g.peer.input(noise)).not.toThrow();
    expect(g.take()).toEqual([]);
  });
});
