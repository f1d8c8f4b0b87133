/**
 * A container's network, as `docker run` fixes it: the mode (Docker's HostConfig.NetworkMode), the
 * networks it joins with their endpoint settings (aliases, a static `--ip`), and what goes into its
 * /etc files (`--add-host`, `--dns*`). The engine (engine/networks.ts) checks the names against its
 * network records and fills in each endpoint's address at create; runtimes get the result.
 *
 * Modes: "bridge" (Docker's default network), a user network's name, "none" (loopback only),
 * "container:<id>" (the other container's network namespace) and "host". There is no host network
 * stack a container could share here: "host" is the guest VM's own namespace (eth0, 10.0.2.15),
 * reachable through the host-side peer like any container, not the machine skiff runs on.
 */
import { SkiffError } from '../../errors.ts';
import { isIpAddress, parseExtraHost } from './etc.ts';

/** One network a container is connected to. */
export interface SpecEndpoint {
  /** The network's id (its name may change meaning: a network removed and created again). */
  networkId: string;
  /** `--network-alias`: more names the network's DNS answers with this container's address. */
  aliases: string[];
  /**
   * `--link NAME[:ALIAS]` (run, create, network connect), as given: on a user network, ALIAS
   * resolves (for this container only) to NAME's address on the network, as Docker's embedded DNS
   * answers it; on the default bridge, Docker's legacy link: an /etc/hosts line written at start
   * (engine/network-links.ts).
   */
  links?: string[];
  /** `--ip`: the address asked for; the allocator takes it or fails. */
  requestedIp?: string;
  /** Filled in by the engine at create/connect: the address, prefix, gateway and MAC. */
  ip?: string;
  prefixLen?: number;
  gateway?: string;
  mac?: string;
  /** Docker's EndpointID: 64 hex, new per connect. */
  endpointId?: string;
}

export interface SpecNetwork {
  /** Docker's NetworkMode as given: "bridge", "none", "host", "container:<name or id>", a network name. */
  mode: string;
  /** Keyed by network name; empty for none, host and container: modes. */
  endpoints: Record<string, SpecEndpoint>;
  /**
   * `--link NAME[:ALIAS]` as given (Docker's HostConfig.Links). On a user network they are also the
   * endpoint's links (resolved by the DNS); on the default bridge and none, Docker's legacy links.
   */
  links?: string[];
  /** `--add-host name:ip`; ip may be "host-gateway" (the host-side peer, 10.0.2.2). */
  extraHosts: { host: string; ip: string }[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

/** What `docker run` flags give before the engine has looked at its networks. */
export interface NetworkRunOptions {
  /** `--network` (`--net`); default "bridge". */
  network?: string;
  networkAliases?: string[];
  ip?: string;
  /** `--link NAME[:ALIAS]` (HostConfig.Links). */
  links?: string[];
  extraHosts?: { host: string; ip: string }[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

/** The guest's uplink addressing (the contract with src/net, /work notes networking.md). */
export const GUEST_ADDRESS = '10.0.2.15';
/** The host-side peer: router for everything, and what `host-gateway` means. */
export const HOST_GATEWAY = '10.0.2.2';
/** The host-side peer's DNS server (answers container names per network, forwards the rest). */
export const DNS_SERVER = '10.0.2.3';

const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

export type NetworkModeKind = 'bridge' | 'none' | 'host' | 'container' | 'user';

/** Classifies a NetworkMode ("default" is Docker's alias for "bridge"). */
export function networkModeKind(mode: string): NetworkModeKind {
  if (mode === 'bridge' || mode === 'default' || mode === '') return 'bridge';
  if (mode === 'none' || mode === 'host') return mode;
  if (mode.startsWith('container:')) return 'container';
  return 'user';
}

/** Parses the run flags' network part with Docker's errors (the daemon's wording where it has one). */
export function resolveNetworkOptions(o: NetworkRunOptions): SpecNetwork {
  const mode = o.network === undefined || o.network === '' || o.network === 'default' ? 'bridge' : o.network;
  const kind = networkModeKind(mode);
  if (kind === 'container' && mode.length === 'container:'.length) throw invalid(`invalid container format container:<name|id>`);
  const aliases = o.networkAliases ?? [];
  if (o.ip !== undefined && o.ip !== '') {
    if (!isIpv4(o.ip)) throw invalid(`invalid IPv4 address: ${o.ip}`);
    // Docker: "user specified IP address is supported on user defined networks only".
    if (kind !== 'user') throw invalid('user specified IP address is supported on user defined networks only');
  }
  if (aliases.length > 0 && kind !== 'user') throw invalid('network-scoped alias is supported only for containers in user defined networks');
  const links = o.links ?? [];
  for (const l of links) parseLink(l);
  // Docker's validateNetMode: a namespace not its own has no place for a link.
  if (links.length && kind === 'host') throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if (links.length && kind === 'container') throw invalid("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  if (kind === 'none' || kind === 'host' || kind === 'container') {
    // Docker's conflict checks for modes that have no network of their own.
    if (kind === 'container' && (o.dns?.length || o.extraHosts?.length)) {
      throw invalid('conflicting options: dns and the network mode');
    }
  }
  for (const ns of o.dns ?? []) if (!isIpAddress(ns)) throw invalid(`${ns} is not an ip address`);
  const endpoints: Record<string, SpecEndpoint> = {};
  if (kind === 'bridge' || kind === 'user') {
    endpoints[mode] = { networkId: '', aliases: [...aliases], ...(o.ip ? { requestedIp: o.ip } : {}), ...(links.length && kind === 'user' ? { links: [...links] } : {}) };
  }
  return {
    mode, endpoints, ...(links.length ? { links: [...links] } : {}),
    extraHosts: (o.extraHosts ?? []).map((h) => ({ ...h })),
    dns: [...(o.dns ?? [])], dnsSearch: [...(o.dnsSearch ?? [])], dnsOptions: [...(o.dnsOptions ?? [])],
  };
}

/** `--add-host` values, parsed (Docker's errors: etc.ts). */
/** Docker's opts.ParseLink: "name:alias" or "name" (alias = name); "/name:/c/alias" from old records. */
export function parseLink(link: string): { name: string; alias: string } {
  if (link === '') throw invalid('empty string specified for links');
  const parts = link.split(':');
  if (parts.length > 2) throw invalid(`bad format for links: ${link}`);
  if (parts.length === 1) return { name: link, alias: link };
  if (parts[0]!.startsWith('/')) return { name: parts[0]!.slice(1), alias: parts[1]!.split('/').pop()! };
  return { name: parts[0]!, alias: parts[1]! };
}

export function parseAddHosts(values: string[]): { host: string; ip: string }[] {
  return values.map(parseExtraHost);
}

/** A container created before skiff had networks ran with loopback only: it keeps that. */
export const LOOPBACK_ONLY: SpecNetwork = Object.freeze({ mode: 'none', endpoints: {}, extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] }) as SpecNetwork;

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw invalid(`invalid IPv4 address: ${ip}`);
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Subnet {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefixLen: number;
}

/** "172.18.0.0/16" -> base and prefix; the address must be the network's own (Docker's check). */
export function parseSubnet(cidr: string): Subnet {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  if (!m || !isIpv4(m[1]!) || Number(m[2]) > 32) throw invalid(`invalid CIDR address: ${cidr}`);
  const prefixLen = Number(m[2]);
  const base = ipToInt(m[1]!);
  if ((base & maskOf(prefixLen)) >>> 0 !== base) throw invalid(`invalid subnet ${cidr} : it should be ${intToIp((base & maskOf(prefixLen)) >>> 0)}/${prefixLen}`);
  return { base, prefixLen };
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function subnetContains(s: Subnet, ip: number): boolean {
  return ((ip & maskOf(s.prefixLen)) >>> 0) === s.base;
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefixLen, b.prefixLen);
  return ((a.base & maskOf(p)) >>> 0) === ((b.base & maskOf(p)) >>> 0);
}

export function formatSubnet(s: Subnet): string {
  return `${intToIp(s.base)}/${s.prefixLen}`;
}

/** Docker's MAC for an address: 02:42 then the IPv4 bytes (unique per address, stable). */
export function macForIp(ip: string): string {
  return ['02', '42', ...ip.split('.').map((p) => Number(p).toString(16).padStart(2, '0'))].join(':');
}

/**
 * For a runtime without sockets (WASI preview1 has none): only the default network (which it then
 * simply does not use) and `none` are accepted; anything asking for a real network is refused.
 */
export function refuseNetworking(n: SpecNetwork | undefined, runtime: string): void {
  if (!n) return;
  const kind = networkModeKind(n.mode);
  const asked = kind === 'user' || kind === 'host' || kind === 'container'
    || Object.values(n.endpoints).some((e) => e.aliases.length > 0 || e.requestedIp) || n.links?.length;
  if (asked) {
    throw new SkiffError('UNSUPPORTED', `--network ${n.mode}: the ${runtime} runtime has no networking (WASI preview1 has no sockets); use the default network or --network none`);
  }
}
