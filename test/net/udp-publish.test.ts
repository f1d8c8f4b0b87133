/**
 * Published UDP ports on Node (src/net/node.ts publishUdp) against the peer and a scripted guest:
 * a real host socket's datagrams reach the container's address and port, each host peer through
 * a flow of its own whose answers go back to that peer only; idle flows close; a port in use fails
 * naming the address; closing the port unbinds it. In a page (no host sockets) UDP is refused.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEth, buildIpv4, buildUdp, ETH_IPV4, fragmentIpv4, ipFromString, ipToString, parseUdp, PROTO_UDP, transportChecksumOk } from '../../src/net/frames.ts';
import { GATEWAY_MAC } from '../../src/net/peer.ts';
import { publishUdp, type PortListener } from '../../src/net/node.ts';
import { VmNetwork } from '../../src/runtime/vm/network.ts';
import type { Machine } from '../../src/runtime/vm/machine.ts';
import { GuestSim, GUEST_MAC, settle } from './guest-sim.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const C = '172.17.0.2';

const open: { close(): unknown }[] = [];
afterEach(async () => { for (const o of open.splice(0)) await o.close(); });

async function client(): Promise<Socket & { next(): Promise<string> }> {
  const s = createSocket('udp4');
  const got: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  s.on('message', (m) => { const w = waiters.shift(); if (w) w(td.decode(m)); else got.push(td.decode(m)); });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return Object.assign(s, { next: () => (got.length ? Promise.resolve(got.shift()!) : new Promise<string>((r) => waiters.push(r))) });
}

/** Waits until the guest got `n` UDP datagrams. */
async function guestGets(g: GuestSim, n: number) {
  const out: NonNullable<ReturnType<GuestSim['take']>[number]>[] = [];
  for (let i = 0; i < 200 && out.length < n; i++) {
    await new Promise((r) => setTimeout(r, 5));
    out.push(...g.take().filter((r) => r.udp));
  }
  return out;
}

async function publish(g: GuestSim, opts: { idleMs?: number } = {}): Promise<PortListener> {
  const l = await publishUdp(g.peer, { proto: 'udp', hostPort: 0, containerIp: C, containerPort: 53 }, opts);
  open.push(l);
  return l;
}

describe('publishUdp', () => {
  it('forwards datagrams both ways, a flow per host peer', async () => {
    const g = new GuestSim();
    g.arpWhoHas('10.0.2.2'); // the peer learns the guest's MAC
    g.take();
    const l = await publish(g);
    expect(l.hostIp).toBe('127.0.0.1');
    const a = await client();
    const b = await client();
    a.send(te.encode('from a'), l.port, '127.0.0.1');
    b.send(te.encode('from b'), l.port, '127.0.0.1');
    const [ra, rb] = (await guestGets(g, 2)).sort((x, y) => td.decode(x.udp!.payload).localeCompare(td.decode(y.udp!.payload)));
    for (const r of [ra, rb]) {
      expect(ipToString(r.ip!.src)).toBe('10.0.2.2');
      expect(ipToString(r.ip!.dst)).toBe(C);
      expect(r.udp!.dstPort).toBe(53);
    }
    expect(td.decode(ra.udp!.payload)).toBe('from a');
    expect(td.decode(rb.udp!.payload)).toBe('from b');
    expect(ra.udp!.srcPort).not.toBe(rb.udp!.srcPort);
    // The container answers each flow's port: each answer reaches its own peer.
    g.udp(C, '10.0.2.2', 53, rb.udp!.srcPort, te.encode('to b'));
    g.udp(C, '10.0.2.2', 53, ra.udp!.srcPort, te.encode('to a'));
    expect(await a.next()).toBe('to a');
    expect(await b.next()).toBe('to b');
    // The same peer again uses its flow again.
    a.send(te.encode('again'), l.port, '127.0.0.1');
    const [again] = await guestGets(g, 1);
    expect(again.udp!.srcPort).toBe(ra.udp!.srcPort);
    // An answer from another source port of the container matches no flow: not delivered.
    g.udp(C, '10.0.2.2', 54, ra.udp!.srcPort, te.encode('stray'));
    g.udp(C, '10.0.2.2', 53, ra.udp!.srcPort, te.encode('ok'));
    expect(await a.next()).toBe('ok');
  });

  it('a datagram past the link MTU goes to the guest in fragments, and its fragmented answer comes back whole', async () => {
    const g = new GuestSim();
    g.arpWhoHas('10.0.2.2');
    g.take();
    const l = await publish(g);
    const a = await client();
    const big = Uint8Array.from({ length: 4000 }, (_, i) => i & 255);
    a.send(big, l.port, '127.0.0.1');
    let frags: ReturnType<GuestSim['take']> = [];
    for (let i = 0; i < 200 && frags.length < 3; i++) { await new Promise((r) => setTimeout(r, 5)); frags.push(...g.take().filter((r) => r.ip)); }
    expect(frags.map((f) => f.ip!.header.length + f.ip!.payload.length)).toEqual([1500, 1500, 20 + 4008 - 2 * 1480]);
    const flagsOffsets = frags.map((f) => new DataView(f.ip!.header.buffer, f.ip!.header.byteOffset).getUint16(6));
    expect(flagsOffsets).toEqual([0x2000, 0x2000 | 185, 370]); // MF, offsets in 8-byte units, no DF
    const whole = new Uint8Array(4008);
    let at = 0;
    for (const f of frags) { whole.set(f.ip!.payload, at); at += f.ip!.payload.length; }
    const ip = { ...frags[0].ip!, payload: whole, fragmented: false };
    expect(transportChecksumOk(ip)).toBe(true);
    expect(parseUdp(whole)!.payload).toEqual(big);
    // The container answers with a datagram as big: the guest fragments it, the peer reassembles,
    // out of order too; a duplicate (overlapping) piece spoils only its own datagram.
    const answer = Uint8Array.from({ length: 3500 }, (_, i) => (i * 3) & 255);
    const flowPort = parseUdp(whole)!.srcPort;
    const sendFragmented = (payload: Uint8Array, order: number[], dup = false) => {
      const pieces = fragmentIpv4(buildIpv4(ipFromString(C), ipFromString('10.0.2.2'), PROTO_UDP, buildUdp(53, flowPort, payload)), 1500);
      const frames = order.map((i) => buildEth(GATEWAY_MAC, GUEST_MAC, ETH_IPV4, pieces[i]!));
      if (dup) frames.push(frames[0]!);
      g.peer.input(frames);
    };
    sendFragmented(answer, [2, 0, 1]);
    expect(await a.next()).toBe(td.decode(answer));
    sendFragmented(te.encode('x'.repeat(2000)), [0, 0, 1]); // overlap: dropped
    sendFragmented(te.encode('y'.repeat(2000)), [1, 0]);
    expect(await a.next()).toBe('y'.repeat(2000));
  });

  it('forgets idle flows, and a closed port is unbound', async () => {
    const g = new GuestSim();
    g.arpWhoHas('10.0.2.2');
    g.take();
    const l = await publish(g, { idleMs: 50 });
    const a = await client();
    a.send(te.encode('x'), l.port, '127.0.0.1');
    const [first] = await guestGets(g, 1);
    await new Promise((r) => setTimeout(r, 120));
    g.udp(C, '10.0.2.2', 53, first.udp!.srcPort, te.encode('late'));
    let late = '';
    void a.next().then((m) => (late = m));
    await new Promise((r) => setTimeout(r, 50));
    expect(late).toBe('');
    a.send(te.encode('y'), l.port, '127.0.0.1');
    const [second] = await guestGets(g, 1);
    expect(second.udp!.srcPort).not.toBe(first.udp!.srcPort); // a new flow
    await l.close();
    // Bound again by someone else: the port is free.
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(l.port, '127.0.0.1', () => resolve()); });
    s.close();
  });

  it('a port in use fails naming the address and protocol', async () => {
    const g = new GuestSim();
    const l = await publish(g);
    await expect(publishUdp(g.peer, { proto: 'udp', hostPort: l.port, containerIp: C, containerPort: 53 }))
      .rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${l.port}/udp -> ${C}:53/udp: the port is already in use`));
    await settle();
  });
});

describe('UDP ports in a page', () => {
  it('are refused with a clear error, and nothing of the container stays published', async () => {
    const n = new VmNetwork(); // no publish: a page's network
    n.attach({ setNetHandler() {}, sendFrames() {} } as unknown as Machine);
    const net = { interfaces: [{ ip: C }], extraHosts: [] };
    await expect(n.addContainer('c1', net, [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }, { hostIp: '', hostPort: 5353, containerPort: 53, proto: 'udp' }]))
      .rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/53\/udp: UDP ports cannot be published in the browser/) });
    expect([...n.pagePorts.keys()]).toEqual([]); // the TCP port bound before it was undone
    expect(await n.addContainer('c2', net, [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }])).toMatchObject([{ hostPort: 8080, containerIp: C }]);
    n.detach();
  });
});
