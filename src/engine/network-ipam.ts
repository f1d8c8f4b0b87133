/**
 * Docker's default IPAM for skiff's bridge networks, sans-IO: the daemon's checks of a create
 * request's IPAM.Config (daemon/network.go validateIpamConfig), pool allocation (a given subnet,
 * else the first free block of Docker's default address pools; overlaps refused), the gateway and
 * auxiliary addresses reserved in the pool, and an endpoint's address (the lowest free one, inside
 * --ip-range when there is one; a requested one anywhere in the subnet that is not reserved).
 * Texts are the daemon's, so `docker network create` prints what it prints against dockerd.
 *
 * Deliberate differences, each because of the guest (vm-images/agent/net.c):
 *   - one IPv4 subnet per network, as Docker's bridge driver ("bridge driver doesn't support
 *     multiple subnets"); IPv6 is refused outright: the guest kernel has no CONFIG_IPV6;
 *   - a subnet with --ip-range is checked for overlap too (dockerd skips that check, moby#46756),
 *     because the agent deletes a bridge whose subnet overlaps a new one;
 *   - prefixes /8 to /30 only (the agent's range), and 10.0.2.0/24 (the VM's uplink) is taken.
 */
import { SkiffError } from '../errors.ts';
import { formatSubnet, intToIp, ipToInt, isIpv4, maskOf, subnetContains, subnetsOverlap, type Subnet } from '../runtime/spec/network.ts';

/** One entry of IPAM.Config as a request gives it (any field may be missing). */
export interface IpamRequest {
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

/** One allocated IPAM.Config: what `network inspect` shows. */
export interface IpamPool {
  subnet: string;
  ipRange?: string;
  gateway: string;
  auxAddresses?: Record<string, string>;
}

/** The guest's uplink (10.0.2.15 on 10.0.2.0/24, the host peer at .2, DNS at .3). */
export const UPLINK_SUBNET = '10.0.2.0/24';

export const NO_IPV6 = 'IPv6 is not supported: skiff\'s guest kernel is built without IPv6 (CONFIG_IPV6 is not set in vm-images/kernel/skiff.config)';

const invalid = (m: string) => new SkiffError('INVALID_ARGUMENT', m);

export const isIpv6Text = (s: string): boolean => s.includes(':');

/** "a.b.c.d/n" with host bits allowed (Go's netip.ParsePrefix); INVALID_ARGUMENT otherwise. */
export function parsePrefix(text: string, what = 'CIDR address'): { addr: number; prefixLen: number } {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!m || !isIpv4(m[1]!) || Number(m[2]) > 32) throw invalid(`invalid ${what}: ${text}`);
  return { addr: ipToInt(m[1]!), prefixLen: Number(m[2]) };
}

const masked = (p: { addr: number; prefixLen: number }): Subnet => ({ base: (p.addr & maskOf(p.prefixLen)) >>> 0, prefixLen: p.prefixLen });
const lastOf = (s: Subnet): number => (s.base | (~maskOf(s.prefixLen) >>> 0)) >>> 0;

/** Any IPv6 in a request: refused with the reason (never dropped silently). */
export function refuseIpv6(reqs: IpamRequest[]): void {
  for (const r of reqs) {
    const texts = [r.subnet, r.ipRange, r.gateway, ...Object.values(r.auxAddresses ?? {})];
    const v6 = texts.find((t) => t && isIpv6Text(t));
    if (v6) throw new SkiffError('UNSUPPORTED', `${v6}: ${NO_IPV6}`);
  }
}

/** dockerd's validateIpamConfig: every problem listed, under "invalid network config:". */
export function validateIpamRequests(reqs: IpamRequest[]): void {
  const errs: string[] = [];
  for (const r of reqs) {
    if (!r.subnet) continue;
    const p = parsePrefix(r.subnet);
    const subnet = masked(p);
    if (subnet.base !== p.addr) errs.push(`invalid subnet ${r.subnet}: it should be ${formatSubnet(subnet)}`);
    if (r.ipRange) {
      const q = parsePrefix(r.ipRange);
      const range = masked(q);
      if (q.prefixLen < subnet.prefixLen) errs.push(`invalid ip-range ${r.ipRange}: CIDR block is bigger than its parent subnet ${formatSubnet(subnet)}`);
      if (range.base !== q.addr) errs.push(`invalid ip-range ${r.ipRange}: it should be ${formatSubnet(range)}`);
      if (!subnetsOverlap(subnet, range)) errs.push(`invalid ip-range ${r.ipRange}: parent subnet ${formatSubnet(subnet)} doesn't contain ip-range`);
    }
    const check = (addr: string, label: string) => {
      if (!isIpv4(addr)) errs.push(`${label}: ParseAddr("${addr}"): unable to parse IP`);
      else if (!subnetContains(subnet, ipToInt(addr))) errs.push(`${label}: parent subnet ${formatSubnet(subnet)} doesn't contain this address`);
    };
    if (r.gateway) check(r.gateway, `invalid gateway ${r.gateway}`);
    for (const [name, a] of Object.entries(r.auxAddresses ?? {})) check(a, `invalid auxiliary address ${name}`);
  }
  if (errs.length) throw invalid(`invalid network config:\n${errs.join('\n')}`);
}

/**
 * Docker's local default pools, in order: 172.17.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/16
 * in /20 blocks; with `size` (a request for "0.0.0.0/<size>"), each pool of at most that prefix
 * cut into blocks of that size.
 */
export function* defaultPoolBlocks(size?: number): Generator<Subnet> {
  const pools: Array<[string, number, number]> = [['172.17.0.0', 16, 16], ['172.18.0.0', 16, 16], ['172.19.0.0', 16, 16],
    ['172.20.0.0', 14, 16], ['172.24.0.0', 14, 16], ['172.28.0.0', 14, 16], ['192.168.0.0', 16, 20]];
  for (const [addr, bits, defSize] of pools) {
    const want = size ?? defSize;
    if (bits > want || want > 32) continue;
    const base = ipToInt(addr);
    for (let i = 0; i < 2 ** (want - bits); i++) yield { base: (base + i * 2 ** (32 - want)) >>> 0, prefixLen: want };
  }
}

/**
 * The pools for one network's IPAM.Config (an empty list: one default pool), each with its
 * gateway and reserved auxiliary addresses. `taken`: the subnets of every other network (and the
 * uplink). Errors as dockerd's pool and address requests word them.
 */
export function allocatePools(reqs: IpamRequest[], taken: Subnet[]): IpamPool[] {
  const list = reqs.length ? reqs : [{}];
  const mine: Subnet[] = [];
  const pools: IpamPool[] = [];
  const busy = (s: Subnet) => [...taken, ...mine].some((t) => subnetsOverlap(t, s));
  for (const r of list) {
    let subnet: Subnet | undefined;
    const p = r.subnet ? parsePrefix(r.subnet) : undefined;
    if (p && p.addr !== 0) {
      subnet = masked(p);
      if (busy(subnet)) throw new SkiffError('CONFLICT', 'Pool overlaps with other one on this address space');
    } else {
      if (r.ipRange) throw invalid(`failed to parse pool request for address space "LocalDefault" pool "" subpool "${r.ipRange}": invalid address subpool`);
      for (const b of defaultPoolBlocks(p?.prefixLen || undefined)) if (!busy(b)) { subnet = b; break; }
      if (!subnet) throw invalid(p ? 'invalid address pool' : 'all predefined address pools have been fully subnetted');
    }
    if (subnet.prefixLen < 8 || subnet.prefixLen > 30) {
      throw invalid(`invalid subnet ${formatSubnet(subnet)}: skiff's guest takes prefixes /8 to /30 (a bridge needs a gateway and a container address)`);
    }
    mine.push(subnet);
    const range = r.ipRange ? masked(parsePrefix(r.ipRange)) : undefined;
    const used = new Set<number>([subnet.base, lastOf(subnet)]);
    let gateway: number | undefined;
    if (r.gateway) {
      if (!isIpv4(r.gateway)) throw invalid(`invalid gateway address ${r.gateway} in Ipam configuration`);
      gateway = ipToInt(r.gateway);
      if (!subnetContains(subnet, gateway)) throw new SkiffError('INTERNAL', `failed to allocate gateway (${r.gateway}): requested address is out of range`);
      if (used.has(gateway)) throw new SkiffError('INTERNAL', `failed to allocate gateway (${r.gateway}): Address already in use`);
    } else {
      // As dockerd: the gateway is the pool's first free address, taken from the ip-range when there is one.
      gateway = lowestFree(range && range.prefixLen > subnet.prefixLen ? range : subnet, used);
      if (gateway === undefined) throw new SkiffError('INTERNAL', 'failed to allocate gateway (): no available addresses on this pool');
    }
    used.add(gateway);
    const aux: Record<string, string> = {};
    for (const [name, a] of Object.entries(r.auxAddresses ?? {})) {
      if (!isIpv4(a)) throw invalid(`non parsable secondary ip address (${name}:${a}) passed for network`);
      const ip = ipToInt(a);
      if (!subnetContains(subnet, ip)) throw invalid(`auxiliary address: (${name}:${a}) must belong to the master pool: ${formatSubnet(subnet)}`);
      if (used.has(ip)) throw new SkiffError('INTERNAL', `failed to allocate secondary ip address (${name}:${a}): Address already in use`);
      used.add(ip);
      aux[name] = a;
    }
    pools.push({
      subnet: formatSubnet(subnet), ...(range ? { ipRange: formatSubnet(range) } : {}), gateway: intToIp(gateway),
      ...(Object.keys(aux).length ? { auxAddresses: aux } : {}),
    });
  }
  return pools;
}

function lowestFree(s: Subnet, used: Set<number>): number | undefined {
  const size = 2 ** (32 - s.prefixLen);
  for (let i = 0; i < size; i++) if (!used.has(s.base + i)) return s.base + i;
  return undefined;
}

/** Addresses no endpoint may take in `pool`: network, broadcast, gateway, auxiliary ones. */
export function reservedIn(pool: IpamPool): Set<number> {
  const s = parseCidr(pool.subnet);
  return new Set([s.base, lastOf(s), ipToInt(pool.gateway), ...Object.values(pool.auxAddresses ?? {}).map(ipToInt)]);
}

function parseCidr(text: string): Subnet {
  return masked(parsePrefix(text));
}

/**
 * An endpoint's address in `pool`: `requested` (anywhere in the subnet that is not reserved or
 * used), else the lowest free one inside the ip-range (the whole subnet without one). Undefined:
 * the pool is full. Errors are libnetwork's.
 */
export function pickAddress(pool: IpamPool, used: Set<number>, requested?: string): number | undefined {
  const subnet = parseCidr(pool.subnet);
  const taken = new Set([...reservedIn(pool), ...used]);
  if (requested !== undefined) {
    if (!isIpv4(requested)) throw invalid(isIpv6Text(requested) ? `${requested}: ${NO_IPV6}` : `invalid IPv4 address: ${requested}`);
    const want = ipToInt(requested);
    if (!subnetContains(subnet, want)) throw invalid(`invalid address ${requested}: It does not belong to any of this network's subnets`);
    if (taken.has(want)) throw new SkiffError('CONFLICT', 'Address already in use');
    return want;
  }
  return lowestFree(pool.ipRange ? parseCidr(pool.ipRange) : subnet, taken);
}
