/**
 * The Engine's network verbs (create, rm, prune, connect, disconnect), kept here so engine.ts only
 * forwards to them: each is the operation of networks.ts plus Docker's events for it; connect and
 * disconnect also plug the interface in or out now when this engine runs the container (its
 * runtime's hotplug; the guest side is the VM runtime's).
 */
import { SkiffError } from '../errors.ts';
import { refuseNetworking } from '../runtime/spec/network.ts';
import { reach } from './control/remote.ts';
import type { EngineParts } from './engine-parts.ts';
import { runtimeNetwork } from './network-runtime.ts';
import {
  connectNetwork, createNetwork, disconnectNetwork, getNetwork, listNetworks, pruneNetworks, removeNetwork,
  type CreateNetworkOptions, type NetworkRecord, type PruneNetworkFilters,
} from './networks.ts';

/** `docker network create` (bridge driver): a subnet of its own, the next free one unless given. */
export async function engineCreateNetwork(e: EngineParts, options: CreateNetworkOptions): Promise<NetworkRecord> {
  const n = await createNetwork(e.ctx, options);
  e.events.network('create', n);
  return n;
}

export async function engineRemoveNetwork(e: EngineParts, options: { id: string }): Promise<NetworkRecord> {
  const n = await removeNetwork(e.ctx, options.id);
  e.events.network('destroy', n);
  return n;
}

/** `docker network prune` (filters: until, label, label!). */
export async function enginePruneNetworks(e: EngineParts, filters: PruneNetworkFilters): Promise<{ deleted: string[] }> {
  const before = await listNetworks(e.ctx);
  const deleted = await pruneNetworks(e.ctx, filters);
  for (const n of before) if (deleted.includes(n.name) || deleted.includes(n.id)) e.events.network('destroy', n);
  e.events.emit('network', 'prune', '', {});
  return { deleted };
}

/**
 * `docker network connect`: recorded, and plugged in now when the container runs: here, or through
 * the control channel of the skiff process that runs it (which reads the new endpoint from the record).
 */
export async function engineConnect(e: EngineParts, options: { network: string; container: string; aliases?: string[]; ip?: string; links?: string[] }): Promise<void> {
  const { lifecycle } = e;
  const before = await lifecycle.inspect(options.container);
  if (before.runtime === 'wasi') refuseNetworking({ mode: options.network, endpoints: {}, extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] }, before.runtime);
  const { container, network } = await connectNetwork(e.ctx, options);
  e.events.network('connect', network, { container: container.id });
  if (!lifecycle.isRunning(container.id)) {
    if (container.state !== 'running' && container.state !== 'paused') return;
    try {
      await (await reach({ plane: e.control, reread: (id) => lifecycle.inspect(id) }, container)).connect(network.id);
    } catch (err) {
      await disconnectNetwork(e.ctx, { network: options.network, container: container.id, force: true }).catch(() => {});
      throw SkiffError.wrap(err, `connecting ${container.name} to ${options.network}`);
    }
    return;
  }
  const net = await runtimeNetwork(e.ctx, container, (id) => lifecycle.isRunning(id));
  const added = net.interfaces.find((i) => i.networkId === network.id);
  try {
    if (added) await lifecycle.hotplug(container.id, 'connect', added);
  } catch (err) {
    await disconnectNetwork(e.ctx, { network: options.network, container: container.id, force: true }).catch(() => {});
    throw SkiffError.wrap(err, `connecting ${container.name} to ${options.network}`);
  }
}

/** `docker network disconnect`: recorded, and unplugged now when the container runs (here, or through its owner). */
export async function engineDisconnect(e: EngineParts, options: { network: string; container: string; force?: boolean }): Promise<void> {
  const { lifecycle } = e;
  const before = await lifecycle.inspect(options.container);
  const net = before.spec.network && lifecycle.isRunning(before.id) ? await runtimeNetwork(e.ctx, before, () => true).catch(() => undefined) : undefined;
  const { endpoint } = await disconnectNetwork(e.ctx, options);
  const network = await getNetwork(e.ctx, endpoint.networkId).catch(() => undefined);
  if (network) e.events.network('disconnect', network, { container: before.id });
  if (!lifecycle.isRunning(before.id) && (before.state === 'running' || before.state === 'paused') && endpoint.ip) {
    await (await reach({ plane: e.control, reread: (id) => lifecycle.inspect(id) }, before)).disconnect(endpoint.networkId, endpoint.ip).catch((err) => {
      throw SkiffError.wrap(err, `disconnecting ${before.name} from ${options.network}`);
    });
    return;
  }
  const iface = net?.interfaces.find((i) => i.networkId === endpoint.networkId && i.ip === endpoint.ip);
  if (iface) await lifecycle.hotplug(before.id, 'disconnect', iface).catch((err) => {
    throw SkiffError.wrap(err, `disconnecting ${before.name} from ${options.network}`);
  });
}
