/**
 * Cross-VM relay rules without a VM: the peer hands a guest packet to another VM only for a
 * remote container of the source's own network, and a relayed packet enters only for a local
 * container from a known remote of its network (a refresh is asked once for an unknown source);
 * malformed or oversized injected packets are dropped.
 */
import { describe, expect, it } from 'vitest';
import { buildIpv4, buildTcp, buildUdp, ipFromString, ipToString, parseIpv4, parseTcp, PROTO_TCP, PROTO_UDP, TCP_SYN } from '../../src/net/frames.ts';
import { RemoteRoutes, type RemoteContainer } from '../../src/runtime/vm/remote-routes.ts';
import { parseRequest } from '../../src/engine/control/protocol.ts';
import { GuestSim, settle } from './guest-sim.ts';

const N1 = '172.18.0.0/16';
const N2 = '172.19.0.0/16';
const syn = (src: string, dst: string) => buildIpv4(ipFromString(src), ipFromString(dst), PROTO_TCP, buildTcp({ srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 65535, payload: new Uint8Array(0) }));

function routes(refresh?: () => Promise<void>) {
  const guest: string[] = [];
  const r = new RemoteRoutes({ guestRoute: async (bridge, ip, add) => void guest.push(`${add ? '+' : '-'}${bridge} ${ip}`), ...(refresh ? { refresh } : {}) });
  return { r, guest };
}

function remote(ip: string, subnet: string, got: Uint8Array[]): RemoteContainer {
  return { ip, subnet, bridge: subnet === N1 ? 'br-aaaaaaaaaaaa' : 'br-bbbbbbbbbbbb', deliver: (p) => void got.push(p) };
}

describe('cross-VM relay', () => {
  it('relays guest packets to a remote of the same network only, and keeps the guest routes in step', async () => {
    const got: Uint8Array[] = [];
    const { r, guest } = routes();
    r.addLocal('172.18.0.2', N1);
    r.addLocal('172.19.0.2', N2);
    await r.set([remote('172.18.0.3', N1, got), remote('172.18.0.2', N1, got)]);
    expect(guest).toEqual(['+br-aaaaaaaaaaaa 172.18.0.3']); // a local address is never remote
    const g = new GuestSim({ relay: (p, ip) => r.outbound(p, ip) });
    g.tcp('172.18.0.2', '172.18.0.3', { srcPort: 40000, dstPort: 80, flags: TCP_SYN, seq: 1 });
    expect(got).toHaveLength(1);
    const sent = parseIpv4(got[0]!)!;
    expect([ipToString(sent.src), ipToString(sent.dst), parseTcp(sent.payload)?.dstPort, got[0]!.length]).toEqual(['172.18.0.2', '172.18.0.3', 80, sent.header.length + sent.payload.length]);
    // From a container of another network: taken (never routed out) but not relayed.
    g.tcp('172.19.0.2', '172.18.0.3', { srcPort: 40000, dstPort: 80, flags: TCP_SYN, seq: 1 });
    expect(got).toHaveLength(1);
    expect(r.stats).toMatchObject({ out: 1, refused: 1 });
    // Not a remote: the peer's own policy answers (ICMP admin-prohibited for container subnets).
    g.tcp('172.18.0.2', '172.18.0.9', { srcPort: 40000, dstPort: 80, flags: TCP_SYN, seq: 1 });
    await settle();
    expect(g.take().some((f) => f.icmp?.type === 3 && f.icmp.code === 13)).toBe(true);
    await r.set([]);
    expect(guest).toEqual(['+br-aaaaaaaaaaaa 172.18.0.3', '-br-aaaaaaaaaaaa 172.18.0.3']);
  });

  it('lets relayed packets in for a local container from a known remote of its network, after one refresh', async () => {
    let refreshes = 0;
    const got: Uint8Array[] = [];
    const { r } = routes(async () => { refreshes++; await r.set([remote('172.18.0.3', N1, got), remote('172.19.0.3', N2, got)]); });
    r.addLocal('172.18.0.2', N1);
    const g = new GuestSim();
    const inject = (p: Uint8Array) => void g.peer.inject(p);
    const inbound = (p: Uint8Array) => r.inbound(p, parseIpv4(p)!, inject);
    g.arpWhoHas('10.0.2.2'); // the peer learns the guest's MAC
    g.take();
    expect(await inbound(syn('172.18.0.3', '172.18.0.2'))).toBe(true);
    expect(refreshes).toBe(1);
    await settle();
    const f = g.take();
    expect(f).toHaveLength(1);
    expect(f[0]!.tcp).toMatchObject({ dstPort: 80, flags: TCP_SYN });
    expect(await inbound(syn('172.18.0.3', '172.18.0.2'))).toBe(true);
    expect(refreshes).toBe(1); // known now
    await settle();
    expect(g.take()).toHaveLength(1);
    // Another network's container, a destination that is not local, a spoofed local source: refused.
    expect(await inbound(syn('172.19.0.3', '172.18.0.2'))).toBe(false);
    expect(await inbound(syn('172.18.0.3', '172.18.0.7'))).toBe(false);
    expect(await inbound(syn('172.18.0.2', '172.18.0.2'))).toBe(false);
    expect(await inbound(syn('172.18.0.4', '172.18.0.2'))).toBe(false); // unknown even after a refresh
    expect(refreshes).toBe(2);
    await settle();
    expect(g.take()).toHaveLength(0);
  });

  it('drops malformed, fragmented-looking and oversized injected packets; the wire op takes only an id', () => {
    const g = new GuestSim();
    const ok = buildIpv4(ipFromString('172.18.0.3'), ipFromString('172.18.0.2'), PROTO_UDP, buildUdp(1, 2, new Uint8Array(10)));
    expect(g.peer.inject(ok)).toBe(true);
    const bad = ok.slice();
    bad[10] ^= 0xff; // header checksum
    expect(g.peer.inject(bad)).toBe(false);
    expect(g.peer.inject(new Uint8Array(10))).toBe(false);
    expect(g.peer.inject(buildIpv4(ipFromString('172.18.0.3'), ipFromString('172.18.0.2'), PROTO_UDP, buildUdp(1, 2, new Uint8Array(1500))))).toBe(false);
    expect(g.peer.inject(Uint8Array.of(...ok, 0, 0))).toBe(false); // trailing bytes
    expect(g.peer.stats).toMatchObject({ injected: 1, dropped: 4 });
    const id = 'a'.repeat(64);
    expect(parseRequest({ v: 1, op: 'packets', id })).toEqual({ v: 1, op: 'packets', id });
    expect(() => parseRequest({ v: 1, op: 'packets', id, extra: 1 })).toThrow();
  });
});
