/**
 * Networks, Docker's bridge driver in the guest: each network is a Linux bridge in the VM with its
 * own subnet; a container gets one address per network it joins (allocated here, at create or
 * connect, and kept until it leaves the network or is removed, so a restart keeps its address).
 * Records live in the state store's `networks` collection; the three predefined networks (bridge,
 * host, none) are written on first use. The guest side (bridges, veths, namespaces) is built by
 * the VM runtime from `runtimeNetwork` (network-runtime.ts); names are answered by dns.ts.
 * Subnets, --ip-range, gateways and auxiliary addresses follow Docker's default IPAM
 * (network-ipam.ts); driver options are checked in network-options.ts.
 *
 * Errors follow the Docker daemon's words (the API helper maps codes to statuses).
 */
import { SkiffError } from '../errors.ts';
import { intToIp, ipToInt, macForIp, networkModeKind, parseLink, parseSubnet, type SpecEndpoint } from '../runtime/spec/network.ts';
import { NO_IPV6, UPLINK_SUBNET, allocatePools, parsePrefix, pickAddress, refuseIpv6, validateIpamRequests, type IpamPool, type IpamRequest } from './network-ipam.ts';
import { checkBridgeOptions } from './network-options.ts';
import type { EngineContext } from './context.ts';
import { findContainer, fromStored } from './container-records.ts';
import type { StateReader, StateTx } from './state/store.ts';
import type { ContainerRecord } from './types.ts';

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface NetworkRecord {
  /** 64 hex, Docker's network ID. */
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  /** "172.18.0.0/16"; "" for host and none. */
  subnet: string;
  /** The bridge's own address in the guest; "" for host and none. */
  gateway: string;
  /** `--ip-range`: dynamic addresses come from it only (absent: the whole subnet). */
  ipRange?: string;
  /** `--aux-address name=ip`: reserved, never given to a container. */
  auxAddresses?: Record<string, string>;
  /** IPAM.Options as given (`--ipam-opt`); absent: Docker's null. */
  ipamOptions?: Record<string, string>;
  /** True when the user gave `--subnet` (Docker allows `--ip` only then). */
  userSubnet: boolean;
  /** `--internal`: no route out of the guest. */
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The guest's bridge interface: "docker0" for the default network, else "br-" + 12 hex of the id. */
  bridge: string;
  /** bridge, host and none: cannot be removed. */
  predefined: boolean;
}

export interface CreateNetworkOptions {
  name: string;
  /** Only "bridge" (the default) creates a network here. */
  driver?: string;
  /** Shorthands for one IPAM.Config entry (the CLI's --subnet/--gateway before `ipam` existed). */
  subnet?: string;
  gateway?: string;
  /** IPAM as the Engine API's POST /networks/create takes it (the CLI consolidates its flags into it). */
  ipam?: { driver?: string; config?: IpamRequest[]; options?: Record<string, string> };
  internal?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  /** "" or "local"; "swarm" and "global" are refused as a daemon outside a swarm refuses them. */
  scope?: string;
  ingress?: boolean;
  configOnly?: boolean;
  configFrom?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const DEFAULT_BRIDGE_SUBNET = '172.17.0.0/16';

function randomHex(bytes: number): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function predefined(name: 'bridge' | 'host' | 'none', created: string): NetworkRecord {
  const bridge = name === 'bridge';
  return {
    id: randomHex(32), name, driver: bridge ? 'bridge' : name === 'host' ? 'host' : 'null', created,
    subnet: bridge ? DEFAULT_BRIDGE_SUBNET : '', gateway: bridge ? '172.17.0.1' : '', userSubnet: false,
    internal: false, attachable: false, labels: {}, options: bridge ? { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'docker0' } : {},
    bridge: bridge ? 'docker0' : '', predefined: true,
  };
}

/** All networks, the predefined ones written first if missing. */
export async function networksIn(tx: StateTx, now: () => Date): Promise<NetworkRecord[]> {
  let all = await tx.list<NetworkRecord>('networks');
  for (const name of ['bridge', 'host', 'none'] as const) {
    if (all.some((n) => n.name === name && n.predefined)) continue;
    const rec = predefined(name, now().toISOString());
    await tx.put('networks', rec.id, rec);
    all = [...all, rec];
  }
  return all;
}

export function listNetworks(ctx: EngineContext): Promise<NetworkRecord[]> {
  return ctx.state.transaction((tx) => networksIn(tx, ctx.now));
}

/** By full id, exact name, then unique id prefix (Docker's order); NOT_FOUND: "network X not found". */
export function pickNetwork(all: NetworkRecord[], ref: string): NetworkRecord {
  const hit = all.find((n) => n.id === ref) ?? all.find((n) => n.name === ref);
  if (hit) return hit;
  if (/^[0-9a-f]+$/.test(ref)) {
    const hits = all.filter((n) => n.id.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new SkiffError('INVALID_ARGUMENT', `network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`);
  }
  throw new SkiffError('NOT_FOUND', `network ${ref} not found`);
}

export async function getNetwork(ctx: EngineContext, ref: string): Promise<NetworkRecord> {
  return pickNetwork(await listNetworks(ctx), ref);
}

/** The network's one IPAM pool (bridge networks only). */
export function poolOf(net: NetworkRecord): IpamPool {
  return {
    subnet: net.subnet, gateway: net.gateway, ...(net.ipRange ? { ipRange: net.ipRange } : {}),
    ...(net.auxAddresses ? { auxAddresses: net.auxAddresses } : {}),
  };
}

export async function createNetwork(ctx: EngineContext, o: CreateNetworkOptions): Promise<NetworkRecord> {
  const { reqs, options } = checkCreate(o);
  return ctx.state.transaction(async (tx) => {
    const all = await networksIn(tx, ctx.now);
    if (all.some((n) => n.name === o.name)) throw new SkiffError('CONFLICT', `network with name ${o.name} already exists`);
    const taken = all.filter((n) => n.subnet).map((n) => parseSubnet(n.subnet));
    // The guest's own uplink must stay routable.
    taken.push(parseSubnet(UPLINK_SUBNET));
    const pools = allocatePools(reqs, taken);
    if (pools.length > 1) throw new SkiffError('INVALID_ARGUMENT', 'bridge driver doesn\'t support multiple subnets');
    const id = randomHex(32);
    const bridgeName = options['com.docker.network.bridge.name'];
    const clash = bridgeName && all.find((n) => n.options['com.docker.network.bridge.name'] === bridgeName || n.bridge === bridgeName);
    if (clash) throw new SkiffError('CONFLICT', `cannot create network ${id} (${bridgeName}): conflicts with network ${clash.id} (${bridgeName}): networks have same bridge name`);
    const pool = pools[0]!;
    const rec: NetworkRecord = {
      id, name: o.name, driver: 'bridge', created: ctx.now().toISOString(),
      subnet: pool.subnet, gateway: pool.gateway, ...(pool.ipRange ? { ipRange: pool.ipRange } : {}),
      ...(pool.auxAddresses ? { auxAddresses: pool.auxAddresses } : {}), ...(o.ipam?.options ? { ipamOptions: { ...o.ipam.options } } : {}),
      userSubnet: reqs.some((r) => r.subnet && parsePrefix(r.subnet).addr !== 0),
      internal: o.internal === true, attachable: o.attachable === true, labels: { ...(o.labels ?? {}) }, options,
      bridge: `br-${id.slice(0, 12)}`, predefined: false,
    };
    await tx.put('networks', id, rec);
    return rec;
  });
}

/** What dockerd checks before it allocates anything, in its order; the IPAM requests to allocate. */
function checkCreate(o: CreateNetworkOptions): { reqs: IpamRequest[]; options: Record<string, string> } {
  if (['bridge', 'host', 'none', 'default'].includes(o.name)) throw new SkiffError('CONFLICT', `operation is not permitted on predefined ${o.name} network `);
  if (!o.name.trim()) throw new SkiffError('INVALID_ARGUMENT', 'invalid name: name is empty');
  if (!NAME_RE.test(o.name)) throw new SkiffError('INVALID_ARGUMENT', `invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const driver = o.driver || 'bridge';
  if (driver !== 'bridge') {
    if (driver === 'host' || driver === 'null') throw new SkiffError('UNSUPPORTED', `only one instance of "${driver}" network is allowed`);
    if (driver === 'overlay') throw new SkiffError('UNSUPPORTED', 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
    if (driver === 'macvlan' || driver === 'ipvlan') throw new SkiffError('UNSUPPORTED', `${driver} networks are not supported: skiff's containers sit on bridges inside its VM, which has no parent interface to share`);
    throw new SkiffError('NOT_FOUND', `plugin "${driver}" not found`);
  }
  const options = { ...(o.options ?? {}) };
  const ipv6Opt = options['com.docker.network.enable_ipv6'];
  if (ipv6Opt !== undefined && o.enableIPv6 === undefined && !/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(ipv6Opt)) {
    throw new SkiffError('INVALID_ARGUMENT', 'driver-opt "com.docker.network.enable_ipv6" is not a valid bool');
  }
  if (o.enableIPv6 || (o.enableIPv6 === undefined && ipv6Opt !== undefined && /^(1|t|T|TRUE|true|True)$/.test(ipv6Opt))) throw new SkiffError('UNSUPPORTED', NO_IPV6);
  const reqs: IpamRequest[] = o.ipam?.config?.map((c) => ({ ...c })) ?? [];
  if (o.subnet || o.gateway) reqs.push({ ...(o.subnet ? { subnet: o.subnet } : {}), ...(o.gateway ? { gateway: o.gateway } : {}) });
  refuseIpv6(reqs);
  validateIpamRequests(reqs);
  const scope = o.scope ?? '';
  if (scope === 'swarm') throw new SkiffError('UNSUPPORTED', 'cannot create a swarm scoped network when swarm is not active');
  if (scope !== '' && scope !== 'local') throw new SkiffError('UNSUPPORTED', `network scope "${scope}": skiff has local networks only (one VM, no cluster)`);
  if (o.ingress) throw new SkiffError('UNSUPPORTED', 'Ingress network can only be global scope network');
  if (o.configOnly || o.configFrom) throw new SkiffError('UNSUPPORTED', 'configuration-only networks (--config-only, --config-from) are not supported');
  const ipamDriver = o.ipam?.driver || 'default';
  if (ipamDriver === 'null') throw new SkiffError('INVALID_ARGUMENT', 'ipv4 pool is empty');
  if (ipamDriver !== 'default') throw new SkiffError('NOT_FOUND', `plugin "${ipamDriver}" not found`);
  checkBridgeOptions(options);
  return { reqs, options };
}

/** Containers (stored records) with an endpoint on network `id`. */
export function attachedTo(containers: ContainerRecord[], id: string): ContainerRecord[] {
  return containers.filter((c) => Object.values(c.spec.network?.endpoints ?? {}).some((e) => e.networkId === id));
}

const active = (c: ContainerRecord): boolean => c.state === 'running' || c.state === 'paused';

export async function removeNetwork(ctx: EngineContext, ref: string): Promise<NetworkRecord> {
  return ctx.state.transaction(async (tx) => {
    const net = pickNetwork(await networksIn(tx, ctx.now), ref);
    if (net.predefined) throw new SkiffError('UNSUPPORTED', `${net.name} is a pre-defined network and cannot be removed`);
    const containers = (await tx.list<ContainerRecord>('containers')).map(fromStored);
    // As Docker: only running containers hold endpoints; a stopped one fails to start later.
    if (attachedTo(containers, net.id).some(active)) {
      throw new SkiffError('IN_USE', `error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    }
    await tx.delete('networks', net.id);
    return net;
  });
}

/** `network prune`'s filters, as Docker's: `until` (created before, ms), `label` and `label!` (k or k=v). */
export interface PruneNetworkFilters {
  until?: number;
  label?: string[];
  notLabel?: string[];
}

function hasLabel(labels: Record<string, string>, f: string): boolean {
  const i = f.indexOf('=');
  return i < 0 ? f in labels : labels[f.slice(0, i)] === f.slice(i + 1);
}

/** Whether `n` passes prune's filters. */
export function prunable(n: NetworkRecord, f: PruneNetworkFilters = {}): boolean {
  if (f.until !== undefined && Date.parse(n.created) > f.until) return false;
  if (f.label && !f.label.every((l) => hasLabel(n.labels, l))) return false;
  if (f.notLabel && f.notLabel.some((l) => hasLabel(n.labels, l))) return false;
  return true;
}

/** `network prune`: user networks no container refers to (and that pass `filters`). */
export async function pruneNetworks(ctx: EngineContext, filters: PruneNetworkFilters = {}): Promise<string[]> {
  return ctx.state.transaction(async (tx) => {
    const containers = (await tx.list<ContainerRecord>('containers')).map(fromStored);
    const deleted: string[] = [];
    for (const n of await networksIn(tx, ctx.now)) {
      if (n.predefined || attachedTo(containers, n.id).length > 0 || !prunable(n, filters)) continue;
      await tx.delete('networks', n.id);
      deleted.push(n.name);
    }
    return deleted;
  });
}

/** Addresses containers hold on network `net` (the reserved ones are network-ipam.ts reservedIn). */
function usedAddresses(containers: ContainerRecord[], net: NetworkRecord, except?: string): Set<number> {
  const used = new Set<number>();
  for (const c of containers) {
    if (c.id === except) continue;
    for (const e of Object.values(c.spec.network?.endpoints ?? {})) if (e.networkId === net.id && e.ip) used.add(ipToInt(e.ip));
  }
  return used;
}

/**
 * Gives endpoint `e` on `net` an address: its `requestedIp` (anywhere in the subnet but the
 * reserved addresses), else the lowest free one inside the network's --ip-range (or subnet).
 */
export function allocateEndpoint(net: NetworkRecord, e: SpecEndpoint, containers: ContainerRecord[], self?: string): SpecEndpoint {
  if (net.driver !== 'bridge') throw new SkiffError('INTERNAL', `network ${net.name} has no addresses`);
  const subnet = parseSubnet(net.subnet);
  if (e.requestedIp && !net.userSubnet) {
    throw new SkiffError('INVALID_ARGUMENT', 'user specified IP address is supported only when connecting to networks with user configured subnets');
  }
  let ip: number | undefined;
  try {
    ip = pickAddress(poolOf(net), usedAddresses(containers, net, self), e.requestedIp);
  } catch (err) {
    if (err instanceof SkiffError && err.message === 'Address already in use') throw new SkiffError('CONFLICT', `Address already in use: ${e.requestedIp} on network ${net.name}`);
    throw err;
  }
  if (ip === undefined) throw new SkiffError('CONFLICT', `no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`);
  const addr = intToIp(ip);
  return {
    ...e, networkId: net.id, ip: addr, prefixLen: subnet.prefixLen, gateway: net.gateway, mac: macForIp(addr),
    endpointId: randomHex(32),
  };
}

/**
 * At create, inside the transaction that writes the record: the spec's network names checked
 * and each endpoint given its network's id and an address. Mutates and returns `endpoints`.
 */
export async function bindEndpoints(
  tx: StateTx, now: () => Date, mode: string, endpoints: Record<string, SpecEndpoint>, containers: ContainerRecord[], self: string,
): Promise<Record<string, SpecEndpoint>> {
  const all = await networksIn(tx, now);
  const kind = networkModeKind(mode);
  if (kind === 'container') {
    const other = await findContainer(tx, mode.slice('container:'.length));
    if (other.id === self) throw new SkiffError('INVALID_ARGUMENT', 'cannot join own network namespace');
    return endpoints;
  }
  const out: Record<string, SpecEndpoint> = {};
  for (const [name, e] of Object.entries(endpoints)) {
    const net = pickNetwork(all, name);
    if (net.driver !== 'bridge') continue; // host, none: no endpoint of their own
    out[net.name] = allocateEndpoint(net, e, containers, self);
  }
  return out;
}

/** Reads without the lock: the networks as stored (the predefined ones may not be written yet). */
export async function storedNetworks(state: StateReader): Promise<NetworkRecord[]> {
  return state.list<NetworkRecord>('networks');
}

export interface ConnectOptions {
  network: string;
  container: string;
  aliases?: string[];
  ip?: string;
  /** `--link NAME[:ALIAS]` (network-dns.ts parseLink). */
  links?: string[];
}

/** `network connect`: the record gets an endpoint (and address) on the network. */
export async function connectNetwork(ctx: EngineContext, o: ConnectOptions): Promise<{ container: ContainerRecord; network: NetworkRecord }> {
  return ctx.state.transaction(async (tx) => {
    const net = pickNetwork(await networksIn(tx, ctx.now), o.network);
    const rec = await findContainer(tx, o.container);
    const spec = rec.spec.network;
    const kind = networkModeKind(spec?.mode ?? 'none');
    if (net.driver === 'host' || kind === 'host') throw new SkiffError('CONFLICT', 'container cannot be disconnected from host network or connected to host network');
    if (net.driver === 'null' || kind === 'none' || !spec) throw new SkiffError('CONFLICT', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (kind === 'container') throw new SkiffError('CONFLICT', `conflicting options: container type network can't be used with other networks`);
    if (Object.values(spec.endpoints).some((e) => e.networkId === net.id)) throw new SkiffError('CONFLICT', `endpoint with name ${rec.name} already exists in network ${net.name}`);
    if (o.aliases?.length && net.predefined) throw new SkiffError('INVALID_ARGUMENT', 'network-scoped alias is supported only for containers in user defined networks');
    const containers = (await tx.list<ContainerRecord>('containers')).map(fromStored);
    for (const l of o.links ?? []) parseLink(l);
    const e = allocateEndpoint(net, {
      networkId: net.id, aliases: [...(o.aliases ?? [])], ...(o.ip ? { requestedIp: o.ip } : {}), ...(o.links?.length ? { links: [...o.links] } : {}),
    }, containers, rec.id);
    const next: ContainerRecord = { ...rec, spec: { ...rec.spec, network: { ...spec, endpoints: { ...spec.endpoints, [net.name]: e } } } };
    await tx.put('containers', rec.id, next);
    return { container: next, network: net };
  });
}

/** `network disconnect`: the endpoint (and its address) is dropped; with `force`, also one whose network is gone. */
export async function disconnectNetwork(ctx: EngineContext, o: { network: string; container: string; force?: boolean }): Promise<{ container: ContainerRecord; endpoint: SpecEndpoint }> {
  return ctx.state.transaction(async (tx) => {
    const all = await networksIn(tx, ctx.now);
    const rec = await findContainer(tx, o.container);
    const spec = rec.spec.network;
    let net: NetworkRecord | undefined;
    try {
      net = pickNetwork(all, o.network);
    } catch (err) {
      if (!o.force) throw err;
    }
    if (net?.driver === 'host' || spec?.mode === 'host') throw new SkiffError('CONFLICT', 'container cannot be disconnected from host network or connected to host network');
    const name = spec && Object.entries(spec.endpoints).find(([n, e]) => (net ? e.networkId === net.id : n === o.network))?.[0];
    if (!spec || name === undefined) throw new SkiffError('CONFLICT', `container ${rec.id} is not connected to network ${o.network}`);
    const { [name]: endpoint, ...rest } = spec.endpoints;
    const next: ContainerRecord = { ...rec, spec: { ...rec.spec, network: { ...spec, endpoints: rest } } };
    await tx.put('containers', rec.id, next);
    return { container: next, endpoint: endpoint! };
  });
}
