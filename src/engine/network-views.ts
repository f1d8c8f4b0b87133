/**
 * Networks and a container's network settings in the Docker Engine API's JSON shapes (GET
 * /networks/{id}, a container's NetworkSettings), for `skiff network inspect`, `skiff inspect` and
 * the API. Fields skiff does not track get Docker's zero values.
 */
import { networkModeKind } from '../runtime/spec/network.ts';
import { attachedTo, type NetworkRecord } from './networks.ts';
import type { ContainerRecord } from './types.ts';

const running = (c: ContainerRecord): boolean => c.state === 'running' || c.state === 'paused';

export function networkView(net: NetworkRecord, containers: ContainerRecord[]): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const c of attachedTo(containers, net.id).filter(running)) {
    const e = Object.values(c.spec.network!.endpoints).find((x) => x.networkId === net.id)!;
    members[c.id] = {
      Name: c.name, EndpointID: e.endpointId ?? '', MacAddress: e.mac ?? '',
      IPv4Address: e.ip ? `${e.ip}/${e.prefixLen}` : '', IPv6Address: '',
    };
  }
  return {
    Name: net.name, Id: net.id, Created: net.created, Scope: 'local', Driver: net.driver, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: net.ipamOptions ? { ...net.ipamOptions } : null, Config: net.subnet ? [ipamConfigView(net)] : [] },
    Internal: net.internal, Attachable: net.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: members, Options: { ...net.options }, Labels: { ...net.labels },
  };
}

/** One IPAM.Config entry as dockerd shows it: IPRange and AuxiliaryAddresses only when set. */
function ipamConfigView(net: NetworkRecord): Record<string, unknown> {
  return {
    Subnet: net.subnet, ...(net.ipRange ? { IPRange: net.ipRange } : {}), Gateway: net.gateway,
    ...(net.auxAddresses && Object.keys(net.auxAddresses).length ? { AuxiliaryAddresses: { ...net.auxAddresses } } : {}),
  };
}

/** Docker's NetworkSettings of a container (addresses shown while it runs, as Docker shows them). */
export function networkSettingsView(c: ContainerRecord, networks: NetworkRecord[]): Record<string, unknown> {
  const spec = c.spec.network;
  const live = running(c);
  const nets: Record<string, unknown> = {};
  const kind = networkModeKind(spec?.mode ?? 'none');
  if (spec && (kind === 'none' || kind === 'host')) {
    const n = networks.find((x) => x.name === kind);
    nets[kind] = endpointView({ networkId: n?.id ?? '', aliases: [] }, false, c);
  }
  for (const [name, e] of Object.entries(spec?.endpoints ?? {})) nets[name] = endpointView(e, live, c);
  const bridge = spec?.endpoints['bridge'];
  const onBridge = live && bridge?.ip;
  return {
    Bridge: '', SandboxID: live ? c.id : '', SandboxKey: live && kind !== 'host' ? `/run/skiff/netns/${c.id}` : '',
    HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: {},
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    // The top-level fields describe the default bridge network only (Docker's legacy fields).
    EndpointID: onBridge ? bridge.endpointId ?? '' : '', Gateway: onBridge ? bridge.gateway ?? '' : '',
    GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: onBridge ? bridge.ip! : '',
    IPPrefixLen: onBridge ? bridge.prefixLen ?? 0 : 0, IPv6Gateway: '', MacAddress: onBridge ? bridge.mac ?? '' : '',
    Networks: nets,
  };
}

function endpointView(e: { networkId: string; aliases: string[]; links?: string[]; requestedIp?: string; ip?: string; prefixLen?: number; gateway?: string; mac?: string; endpointId?: string }, live: boolean, c: ContainerRecord): Record<string, unknown> {
  return {
    IPAMConfig: e.requestedIp ? { IPv4Address: e.requestedIp } : null, Links: e.links?.length ? [...e.links] : null,
    Aliases: e.aliases.length ? [...e.aliases] : null, MacAddress: live ? e.mac ?? '' : '',
    NetworkID: e.networkId, EndpointID: live ? e.endpointId ?? '' : '',
    Gateway: live ? e.gateway ?? '' : '', IPAddress: live ? e.ip ?? '' : '', IPPrefixLen: live ? e.prefixLen ?? 0 : 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null,
    DNSNames: e.ip ? [c.name, c.id.slice(0, 12), ...e.aliases] : null,
  };
}
