/**
 * Networks, Docker's bridge driver in the guest: each network is a Linux bridge in the VM with its
 * own subnet; a container gets one address per network it joins (allocated here, at create or
 * connect, and kept until it leaves the network or is removed, so a restart keeps its address).
 * Records live in the state store's `networks` collection; the three predefined networks (bridge,
 * host, none) are written on first use. The guest side (bridges, veths, namespaces) is built by
 * the VM runtime from `runtimeNetwork` (network-runtime.ts); names are answered by dns.ts.
 *
 * Errors follow the Docker daemon's words (the API helper maps codes to statuses).
 */
import { SkiffError } from '../errors.ts';
import {
  formatSubnet, intToIp, ipToInt, isIpv4, macForIp, maskOf, networkModeKind, parseSubnet, subnetContains, subnetsOverlap,
  type SpecEndpoint, type Subnet,
} from '../runtime/spec/network.ts';
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
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  attachable?: boolean;
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

/** Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20 blocks. */
function* defaultPools(): Generator<Subnet> {
  for (let b = 18; b <= 31; b++) yield { base: ipToInt(`172.${b}.0.0`), prefixLen: 16 };
  for (let c = 0; c < 256; c += 16) yield { base: ipToInt(`192.168.${c}.0`), prefixLen: 20 };
}

export async function createNetwork(ctx: EngineContext, o: CreateNetworkOptions): Promise<NetworkRecord> {
  const driver = o.driver ?? 'bridge';
  if (driver !== 'bridge') {
    if (driver === 'host' || driver === 'null') throw new SkiffError('UNSUPPORTED', `only one instance of "${driver}" network is allowed`);
    throw new SkiffError('NOT_FOUND', `plugin "${driver}" not found: skiff networks use the bridge driver`);
  }
  if (!NAME_RE.test(o.name)) throw new SkiffError('INVALID_ARGUMENT', `invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  let wanted: Subnet | undefined;
  if (o.subnet) wanted = parseSubnet(o.subnet);
  if (wanted && wanted.prefixLen > 30) throw new SkiffError('INVALID_ARGUMENT', `invalid subnet ${o.subnet}: too small for a gateway and a container`);
  if (o.gateway !== undefined && o.gateway !== '') {
    if (!wanted) throw new SkiffError('INVALID_ARGUMENT', 'a gateway needs a subnet (--subnet)');
    if (!isIpv4(o.gateway) || !subnetContains(wanted, ipToInt(o.gateway))) throw new SkiffError('INVALID_ARGUMENT', `no matching subnet for gateway ${o.gateway}`);
  }
  return ctx.state.transaction(async (tx) => {
    const all = await networksIn(tx, ctx.now);
    if (all.some((n) => n.name === o.name)) throw new SkiffError('CONFLICT', `network with name ${o.name} already exists`);
    const taken = all.filter((n) => n.subnet).map((n) => parseSubnet(n.subnet));
    // The guest's own uplink must stay routable.
    taken.push(parseSubnet('10.0.2.0/24'));
    let subnet = wanted;
    if (subnet) {
      if (taken.some((t) => subnetsOverlap(t, subnet!))) throw new SkiffError('CONFLICT', 'Pool overlaps with other one on this address space');
    } else {
      for (const p of defaultPools()) if (!taken.some((t) => subnetsOverlap(t, p))) { subnet = p; break; }
      if (!subnet) throw new SkiffError('CONFLICT', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    }
    const id = randomHex(32);
    const rec: NetworkRecord = {
      id, name: o.name, driver: 'bridge', created: ctx.now().toISOString(),
      subnet: formatSubnet(subnet), gateway: o.gateway || intToIp(subnet.base + 1), userSubnet: wanted !== undefined,
      internal: o.internal === true, attachable: o.attachable === true, labels: { ...(o.labels ?? {}) }, options: { ...(o.options ?? {}) },
      bridge: `br-${id.slice(0, 12)}`, predefined: false,
    };
    await tx.put('networks', id, rec);
    return rec;
  });
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

/** `network prune`: user networks no container refers to. */
export async function pruneNetworks(ctx: EngineContext): Promise<string[]> {
  return ctx.state.transaction(async (tx) => {
    const containers = (await tx.list<ContainerRecord>('containers')).map(fromStored);
    const deleted: string[] = [];
    for (const n of await networksIn(tx, ctx.now)) {
      if (n.predefined || attachedTo(containers, n.id).length > 0) continue;
      await tx.delete('networks', n.id);
      deleted.push(n.name);
    }
    return deleted;
  });
}

/** Addresses in use on network `net` (gateway included), from every container's endpoints. */
function usedAddresses(containers: ContainerRecord[], net: NetworkRecord, except?: string): Set<number> {
  const used = new Set<number>([ipToInt(net.gateway)]);
  for (const c of containers) {
    if (c.id === except) continue;
    for (const e of Object.values(c.spec.network?.endpoints ?? {})) if (e.networkId === net.id && e.ip) used.add(ipToInt(e.ip));
  }
  return used;
}

/** Gives endpoint `e` on `net` an address (its `requestedIp`, else the lowest free one). */
export function allocateEndpoint(net: NetworkRecord, e: SpecEndpoint, containers: ContainerRecord[], self?: string): SpecEndpoint {
  if (net.driver !== 'bridge') throw new SkiffError('INTERNAL', `network ${net.name} has no addresses`);
  const subnet = parseSubnet(net.subnet);
  const used = usedAddresses(containers, net, self);
  let ip: number | undefined;
  if (e.requestedIp) {
    if (!net.userSubnet) throw new SkiffError('INVALID_ARGUMENT', 'user specified IP address is supported only when connecting to networks with user configured subnets');
    const want = ipToInt(e.requestedIp);
    const last = (subnet.base | (~maskOf(subnet.prefixLen) >>> 0)) >>> 0;
    if (!subnetContains(subnet, want) || want === subnet.base || want === last) {
      throw new SkiffError('INVALID_ARGUMENT', `invalid address ${e.requestedIp}: it does not belong to any of this network's subnets`);
    }
    if (used.has(want)) throw new SkiffError('CONFLICT', `Address already in use: ${e.requestedIp} on network ${net.name}`);
    ip = want;
  } else {
    const size = 2 ** (32 - subnet.prefixLen);
    for (let i = 1; i < size - 1; i++) {
      if (!used.has(subnet.base + i)) { ip = subnet.base + i; break; }
    }
    if (ip === undefined) throw new SkiffError('CONFLICT', `no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`);
  }
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
    const e = allocateEndpoint(net, { networkId: net.id, aliases: [...(o.aliases ?? [])], ...(o.ip ? { requestedIp: o.ip } : {}) }, containers, rec.id);
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
