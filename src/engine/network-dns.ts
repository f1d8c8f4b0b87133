/**
 * The names Docker's embedded DNS answers, for the host-side DNS server (src/net) at 10.0.2.3:
 * a container resolves the running containers of the user networks IT is on (whichever of its
 * addresses the query came from) by name, `--network-alias` and short id; on the default bridge
 * (and for anything else) nothing is answered here and the server forwards the query upstream,
 * as Docker does.
 *
 * Sans-IO core (`answerName`, over records) plus a reader over the state store (`resolveName`).
 */
import { ipToInt, isIpv4, parseLink, parseSubnet, subnetContains } from '../runtime/spec/network.ts';
import { fromStored } from './container-records.ts';
import type { NetworkRecord } from './networks.ts';
import type { StateReader } from './state/store.ts';
import type { ContainerRecord } from './types.ts';

/** The user network `sourceIp` sits on (the default bridge and unknown sources: undefined). */
export function userNetworkOf(networks: NetworkRecord[], sourceIp: string): NetworkRecord | undefined {
  if (!isIpv4(sourceIp)) return undefined;
  const ip = ipToInt(sourceIp);
  return networks.find((n) => n.driver === 'bridge' && !n.predefined && n.subnet && subnetContains(parseSubnet(n.subnet), ip));
}

/** Names a container answers to on one network (lowercase): name, short id, aliases. */
export function dnsNames(c: ContainerRecord, networkName: string): string[] {
  const e = c.spec.network?.endpoints[networkName];
  return [c.name, c.id.slice(0, 12), ...(e?.aliases ?? [])].map((n) => n.toLowerCase());
}

const live = (c: ContainerRecord): boolean => c.state === 'running' || c.state === 'paused';

/**
 * The user networks whose names `sourceIp` may ask for: every user network of the running
 * container that has that address (a query leaves by the default route, whatever network the
 * name is on), else the user network whose subnet holds it.
 */
export function askerNetworks(networks: NetworkRecord[], containers: ContainerRecord[], sourceIp: string): NetworkRecord[] {
  const asker = containers.find((c) => live(c) && Object.values(c.spec.network?.endpoints ?? {}).some((e) => e.ip === sourceIp));
  if (asker) {
    const ids = new Set(Object.values(asker.spec.network!.endpoints).map((e) => e.networkId));
    return networks.filter((n) => ids.has(n.id) && !n.predefined && n.driver === 'bridge');
  }
  const n = userNetworkOf(networks, sourceIp);
  return n ? [n] : [];
}

/**
 * Addresses for `name` as seen from `sourceIp`; undefined when this resolver has no answer (the
 * caller forwards upstream or says NXDOMAIN). A trailing dot and "<name>.<network>" both work; a
 * link alias of the asker's endpoint on a network stands for the linked container's name there.
 */
export function answerName(networks: NetworkRecord[], containers: ContainerRecord[], name: string, sourceIp: string): string[] | undefined {
  const ips: string[] = [];
  const asker = containers.find((c) => live(c) && Object.values(c.spec.network?.endpoints ?? {}).some((e) => e.ip === sourceIp));
  for (const net of askerNetworks(networks, containers, sourceIp)) {
    let q = name.toLowerCase().replace(/\.$/, '');
    const suffix = `.${net.name.toLowerCase()}`;
    if (q.endsWith(suffix)) q = q.slice(0, -suffix.length);
    const link = (asker?.spec.network?.endpoints[net.name]?.links ?? []).map(parseLink).find((l) => l.alias.toLowerCase() === q);
    if (link) q = link.name.toLowerCase();
    for (const c of containers) {
      if (!live(c)) continue;
      const e = c.spec.network?.endpoints[net.name];
      if (!e || e.networkId !== net.id || !e.ip) continue;
      if (dnsNames(c, net.name).includes(q) && !ips.includes(e.ip)) ips.push(e.ip);
    }
  }
  return ips.length ? ips : undefined;
}

/** PTR: "<name>.<network>" for an address on one of the asker's user networks. */
export function answerAddress(networks: NetworkRecord[], containers: ContainerRecord[], ip: string, sourceIp: string): string | undefined {
  for (const net of askerNetworks(networks, containers, sourceIp)) {
    for (const c of containers) {
      if (!live(c)) continue;
      const e = c.spec.network?.endpoints[net.name];
      if (e && e.networkId === net.id && e.ip === ip) return `${c.name}.${net.name}`;
    }
  }
  return undefined;
}

/** `answerName` over the state store as it is now (one read of networks and containers). */
export async function resolveName(state: StateReader, name: string, sourceIp: string): Promise<string[] | undefined> {
  const networks = await state.list<NetworkRecord>('networks');
  if (!networks.some((n) => !n.predefined)) return undefined;
  const containers = (await state.list<ContainerRecord>('containers')).map(fromStored);
  return answerName(networks, containers, name, sourceIp);
}

export async function resolveAddress(state: StateReader, ip: string, sourceIp: string): Promise<string | undefined> {
  const networks = await state.list<NetworkRecord>('networks');
  if (!networks.some((n) => !n.predefined)) return undefined;
  const containers = (await state.list<ContainerRecord>('containers')).map(fromStored);
  return answerAddress(networks, containers, ip, sourceIp);
}
