/**
 * Where a packet from the guest may go. The guest routes every container subnet to eth0 with no
 * NAT, so the source address names the container; the peer asks this before any connection.
 * Defaults follow Docker's isolation: no crossing between container networks through the host,
 * the host's loopback only for containers given `--add-host NAME:host-gateway`.
 */
import { ipFromString, type Ip } from './frames.ts';

export const GUEST_NET = { gateway: ipFromString('10.0.2.2'), dns: ipFromString('10.0.2.3'), guest: ipFromString('10.0.2.15'), prefix: ipFromString('10.0.2.0'), bits: 24 };

/** What to do with a guest's new connection or datagram. */
export type Verdict =
  | { kind: 'outbound'; host: string; port: number }
  | { kind: 'host-loopback'; host: '127.0.0.1'; port: number }
  | { kind: 'dns' }
  /** Refused: TCP gets a reset, UDP an ICMP port unreachable. */
  | { kind: 'refuse'; reason: string }
  /** Unreachable: ICMP "administratively prohibited", which Linux reports as EHOSTUNREACH at once. */
  | { kind: 'unreachable'; reason: string }
  | { kind: 'drop' };

export interface PolicyOptions {
  /** Container addresses allowed to reach the host's loopback through 10.0.2.2 (host-gateway). */
  hostGatewaySources?: ReadonlySet<string>;
  /** Whether outbound connections can be made at all (false in a page with no Wisp relay). */
  outbound: boolean;
  /** Container subnets beyond 172.16.0.0/12 (user networks in 192.168.x.0/20), as CIDR text. */
  containerSubnets?: ReadonlySet<string>;
}

const CIDR = (s: string, bits: number) => ({ net: ipFromString(s), mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0 });
/** Container subnets (172.16.0.0/12 covers the default bridge and user networks). */
const CONTAINER_NETS = [CIDR('172.16.0.0', 12)];
const NEVER = [CIDR('0.0.0.0', 8), CIDR('127.0.0.0', 8), CIDR('224.0.0.0', 4), CIDR('240.0.0.0', 4)];

const parsed = new Map<string, { net: number; mask: number }>();

/** "192.168.16.0/20" as network and mask (cached: the peer asks per new connection). */
export function parseCidr(text: string): { net: number; mask: number } {
  let c = parsed.get(text);
  if (!c) {
    const [ip, bits] = text.split('/');
    c = CIDR(ip!, Number(bits ?? 32));
    c.net = (c.net & c.mask) >>> 0;
    parsed.set(text, c);
  }
  return c;
}

export function inCidr(ip: Ip, c: { net: number; mask: number }): boolean {
  return ((ip & c.mask) >>> 0) === c.net;
}

export function decide(src: Ip, srcText: string, dst: Ip, dstText: string, port: number, proto: 'tcp' | 'udp', opts: PolicyOptions): Verdict {
  if (dst === GUEST_NET.dns) return proto === 'udp' && port === 53 ? { kind: 'dns' } : { kind: 'refuse', reason: 'only DNS over UDP is served at 10.0.2.3' };
  if (dst === GUEST_NET.gateway) {
    return opts.hostGatewaySources?.has(srcText)
      ? { kind: 'host-loopback', host: '127.0.0.1', port }
      : { kind: 'refuse', reason: `${srcText} was not given host-gateway` };
  }
  if (inCidr(dst, { net: GUEST_NET.prefix, mask: 0xffffff00 })) return { kind: 'unreachable', reason: 'no such host on the guest link' };
  if (CONTAINER_NETS.some((c) => inCidr(dst, c)) || [...(opts.containerSubnets ?? [])].some((c) => inCidr(dst, parseCidr(c)))) return { kind: 'unreachable', reason: 'container networks do not cross through the host' };
  if (NEVER.some((c) => inCidr(dst, c)) || dst === 0xffffffff) return { kind: 'drop' };
  if (!opts.outbound) return { kind: 'unreachable', reason: 'no outbound network is configured (a page needs a Wisp relay)' };
  return { kind: 'outbound', host: dstText, port };
}
