/**
 * `network create`'s --subnet, --ip-range, --gateway and --aux-address grouped into IPAM.Config
 * entries as Docker's CLI groups them (docker/cli cli/command/network/create.go createIPAMConfig):
 * each range, gateway and auxiliary address goes to the subnet that contains it, with the CLI's
 * own error texts when one has none or a subnet gets two. The daemon's checks come after
 * (engine/network-ipam.ts), so a request through the API is checked the same way.
 */
import { SkiffError } from '../../errors.ts';
import type { IpamRequest } from '../../engine/network-ipam.ts';
import { NO_IPV6, isIpv6Text, parsePrefix } from '../../engine/network-ipam.ts';
import { ipToInt, isIpv4, maskOf } from '../../runtime/spec/network.ts';

const invalid = (m: string) => new SkiffError('INVALID_ARGUMENT', m);

export interface IpamFlags {
  subnets: string[];
  ipRanges: string[];
  gateways: string[];
  /** "name=ip" (a value without "=" names an empty address, which the CLI skips). */
  auxAddresses: string[];
}

function contains(subnet: string, addr: string): boolean {
  let p;
  try {
    p = parsePrefix(subnet);
  } catch {
    throw invalid(`invalid subnet: invalid CIDR address: ${subnet}`);
  }
  const ip = ipToInt(addr.split('/')[0]!);
  return ((ip & maskOf(p.prefixLen)) >>> 0) === ((p.addr & maskOf(p.prefixLen)) >>> 0);
}

export function consolidateIpam(o: IpamFlags): IpamRequest[] {
  for (const v of [...o.subnets, ...o.ipRanges, ...o.gateways, ...o.auxAddresses.map((a) => a.slice(a.indexOf('=') + 1))]) {
    if (isIpv6Text(v)) throw new SkiffError('UNSUPPORTED', `${v}: ${NO_IPV6}`);
  }
  // pflag's own parsing of the typed flags comes first.
  for (const r of o.ipRanges) {
    try { parsePrefix(r); } catch { throw invalid(`invalid argument "${r}" for "--ip-range" flag: invalid CIDR address: ${r}`); }
  }
  for (const g of o.gateways) if (!isIpv4(g)) throw invalid(`invalid argument "${g}" for "--gateway" flag: invalid string being converted to IP address: ${g}`);
  if (o.subnets.length < o.ipRanges.length || o.subnets.length < o.gateways.length) throw invalid('every ip-range or gateway must have a corresponding subnet');
  const data = new Map<string, IpamRequest>();
  for (const s of o.subnets) {
    for (const k of data.keys()) if (contains(s, k) || contains(k, s)) throw invalid('multiple overlapping subnet configuration is not supported');
    try { parsePrefix(s); } catch { throw invalid(`netip.ParsePrefix("${s}"): invalid CIDR address`); }
    data.set(s, { subnet: s, auxAddresses: {} });
  }
  for (const r of o.ipRanges) {
    const range = parsePrefix(r);
    const text = formatMasked(range);
    let match = false;
    for (const s of o.subnets) {
      if (!contains(s, r)) continue;
      const d = data.get(s)!;
      if (d.ipRange) throw invalid(`cannot configure multiple ranges (${text}, ${d.ipRange}) on the same subnet (${s})`);
      d.ipRange = text;
      match = true;
    }
    if (!match) throw invalid(`no matching subnet for range ${text}`);
  }
  for (const g of o.gateways) {
    let match = false;
    for (const s of o.subnets) {
      if (!contains(s, g)) continue;
      const d = data.get(s)!;
      if (d.gateway) throw invalid(`cannot configure multiple gateways (${g}, ${d.gateway}) for the same subnet (${s})`);
      d.gateway = g;
      match = true;
    }
    if (!match) throw invalid(`no matching subnet for gateway ${g}`);
  }
  const aux = new Map<string, string>();
  for (const a of o.auxAddresses) {
    const i = a.indexOf('=');
    aux.set(i < 0 ? a : a.slice(0, i), i < 0 ? '' : a.slice(i + 1));
  }
  for (const [name, addr] of aux) {
    if (addr === '') continue;
    if (!isIpv4(addr)) throw invalid(`ParseAddr("${addr}"): unable to parse IP`);
    let match = false;
    for (const s of o.subnets) {
      if (!contains(s, addr)) continue;
      data.get(s)!.auxAddresses![name] = addr;
      match = true;
    }
    if (!match) throw invalid(`no matching subnet for aux-address ${addr}`);
  }
  return [...data.values()].map(({ auxAddresses, ...rest }) => (Object.keys(auxAddresses!).length ? { ...rest, auxAddresses } : rest));
}

/** Go's net.IPNet String(): a parsed --ip-range is masked ("10.1.2.3/24" prints "10.1.2.0/24"). */
function formatMasked(p: { addr: number; prefixLen: number }): string {
  const base = (p.addr & maskOf(p.prefixLen)) >>> 0;
  return `${[base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.')}/${p.prefixLen}`;
}
