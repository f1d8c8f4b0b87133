/**
 * From a container's record to what its runtime builds at start (runtime/types.ts RuntimeNetwork):
 * its endpoints checked against the networks as they are now (a network removed and created again
 * under the same name gets the endpoint moved to it, with a new address, as Docker reconnects by
 * name), `container:` resolved to a running container's id, `host-gateway` replaced.
 */
import { SkiffError } from '../errors.ts';
import { DNS_SERVER, HOST_GATEWAY, LOOPBACK_ONLY, networkModeKind, type SpecEndpoint, type SpecNetwork } from '../runtime/spec/network.ts';
import type { RuntimeInterface, RuntimeNetwork } from '../runtime/types.ts';
import type { EngineContext } from './context.ts';
import { findContainer, fromStored } from './container-records.ts';
import { legacyLinkSetup } from './network-links.ts';
import { allocateEndpoint, networksIn, type NetworkRecord } from './networks.ts';
import type { ContainerRecord } from './types.ts';

export function specNetwork(rec: ContainerRecord): SpecNetwork {
  return rec.spec.network ?? LOOPBACK_ONLY;
}

/**
 * The record with every endpoint on a network that exists (re-bound by name when its network was
 * replaced); NOT_FOUND "network X not found" when one is gone.
 */
export async function refreshEndpoints(ctx: EngineContext, rec: ContainerRecord): Promise<ContainerRecord> {
  // The common case (every network still there) reads only: no lock on a container's start path.
  const ids = new Set((await ctx.state.list<NetworkRecord>('networks')).map((n) => n.id));
  if (Object.values(rec.spec.network?.endpoints ?? {}).every((e) => ids.has(e.networkId))) return rec;
  const id = rec.id;
  return ctx.state.transaction(async (tx) => {
    const rec = await findContainer(tx, id);
    const net = rec.spec.network;
    if (!net || Object.keys(net.endpoints).length === 0) return rec;
    const all = await networksIn(tx, ctx.now);
    let changed = false;
    const endpoints: Record<string, SpecEndpoint> = {};
    const containers = (await tx.list<ContainerRecord>('containers')).map(fromStored);
    for (const [name, e] of Object.entries(net.endpoints)) {
      if (all.some((n) => n.id === e.networkId)) { endpoints[name] = e; continue; }
      const byName = all.find((n) => n.name === name);
      if (!byName) throw new SkiffError('NOT_FOUND', `network ${name} not found`);
      const { ip: _ip, prefixLen: _p, gateway: _g, mac: _m, endpointId: _e, ...wanted } = e;
      endpoints[name] = allocateEndpoint(byName, wanted, containers, rec.id);
      changed = true;
    }
    if (!changed) return rec;
    const next: ContainerRecord = { ...rec, spec: { ...rec.spec, network: { ...net, endpoints } } };
    await tx.put('containers', rec.id, next);
    return next;
  });
}

function iface(net: NetworkRecord, e: SpecEndpoint): RuntimeInterface {
  if (!e.ip || e.prefixLen === undefined || !e.mac) throw new SkiffError('INTERNAL', `endpoint on ${net.name} has no address`);
  return {
    network: net.name, networkId: net.id, bridge: net.bridge, subnet: net.subnet, gateway: net.gateway,
    ip: e.ip, prefixLen: e.prefixLen, mac: e.mac, internal: net.internal,
  };
}

/** What the runtime builds for `rec` (after refreshEndpoints). */
export async function runtimeNetwork(ctx: EngineContext, rec: ContainerRecord, isRunningHere: (id: string) => boolean): Promise<RuntimeNetwork> {
  const spec = specNetwork(rec);
  const kind = networkModeKind(spec.mode);
  const base = {
    extraHosts: spec.extraHosts.map((h) => ({ host: h.host, ip: h.ip === 'host-gateway' ? HOST_GATEWAY : h.ip })),
    nameservers: spec.dns.length ? [...spec.dns] : kind === 'none' ? [] : [DNS_SERVER],
    dnsSearch: [...spec.dnsSearch], dnsOptions: [...spec.dnsOptions],
  };
  if (kind === 'none' || kind === 'host') return { mode: kind, interfaces: [], ...base };
  if (kind === 'container') {
    const ref = spec.mode.slice('container:'.length);
    const other = await findContainer(ctx.state, ref);
    if (other.state !== 'running' || !isRunningHere(other.id)) {
      throw new SkiffError('CONFLICT', other.state !== 'running'
        ? `cannot join network namespace of a non running container: container ${other.name} is ${other.state}`
        : `cannot join network namespace of container ${other.name}: it runs in another skiff process (its VM); run both from one engine (skiff system serve, compose, or the page)`);
    }
    return { mode: 'container', container: other.id, interfaces: [], ...base };
  }
  const all = await ctx.state.list<NetworkRecord>('networks');
  const interfaces: RuntimeInterface[] = [];
  for (const e of Object.values(spec.endpoints)) {
    const net = all.find((n) => n.id === e.networkId);
    if (!net) throw new SkiffError('NOT_FOUND', `network ${e.networkId} not found`);
    interfaces.push(iface(net, e));
  }
  // Legacy links (default bridge): their /etc/hosts lines and variables, from the linked containers as they run now.
  const links = await legacyLinkSetup(ctx.state, rec);
  return { mode: 'bridge', interfaces, ...base, extraHosts: [...base.extraHosts, ...links.hosts], ...(links.env.length ? { linkEnv: links.env } : {}) };
}
