/**
 * The guest side of a container's network (runtime/types.ts RuntimeNetwork), through the agent's
 * net_* requests (vm-images/agent/net.c, PROTOCOL.md): a network namespace pinned at
 * /run/skiff/netns/<id> with lo and one veth per network (eth0, eth1 ... on the networks' bridges,
 * which the agent creates on first use), joined by crun through config.json's namespace path.
 * `container:` joins another container's pinned namespace; `host` joins none (the guest's own).
 */
import { SkiffError } from '../../errors.ts';
import type { RuntimeInterface, RuntimeNetwork } from '../types.ts';
import type { AgentClient } from './agent-client.ts';

export const NETNS_DIR = '/run/skiff/netns';

/** What config.json's network namespace is for `network` (bundle.ts `networkNamespace`). */
export function netnsOf(id: string, network: RuntimeNetwork | undefined): string | undefined {
  if (!network) return undefined;
  if (network.mode === 'host') return 'host';
  if (network.mode === 'container') return `${NETNS_DIR}/${network.container}`;
  return `${NETNS_DIR}/${id}`;
}

/** An interface as the agent's net_* requests take it. */
export function wire(iface: RuntimeInterface, index: number): Record<string, unknown> {
  return {
    bridge: iface.bridge, ip: iface.ip, prefix: iface.prefixLen, gateway: iface.gateway, mac: iface.mac,
    internal: iface.internal, index,
  };
}

/** Per container: which eth<N> each network got (hot plug picks the next free one). */
export class GuestNetworks {
  private readonly slots = new Map<string, Map<string, number>>();

  /** Builds the namespace before `crun run`; a container with no namespace of its own is a no-op. */
  async setup(agent: AgentClient, id: string, network: RuntimeNetwork | undefined): Promise<void> {
    if (!network || network.mode === 'host' || network.mode === 'container') return;
    const slots = new Map<string, number>();
    network.interfaces.forEach((i, n) => slots.set(i.networkId, n));
    try {
      await agent.request('net_setup', { id, ifaces: network.interfaces.map((i, n) => wire(i, n)) });
    } catch (err) {
      throw SkiffError.wrap(err, `container ${id.slice(0, 12)}: setting up its network`);
    }
    this.slots.set(id, slots);
  }

  /**
   * A pooled container's namespace, pinned under `id` by its claim, which gave it `interfaces`
   * (pool.ts); torn down as one net_setup made (a container with no network gets one too: lo only).
   */
  adopted(id: string, interfaces: readonly RuntimeInterface[]): void {
    const slots = new Map<string, number>();
    interfaces.forEach((i, n) => slots.set(i.networkId, n));
    this.slots.set(id, slots);
  }

  /** After the container's processes are gone (or its start failed): the pinned namespace goes. */
  async teardown(agent: AgentClient, id: string): Promise<void> {
    if (!this.slots.delete(id)) return;
    await agent.request('net_teardown', { id }).catch(() => {});
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  async connect(agent: AgentClient, id: string, iface: RuntimeInterface): Promise<void> {
    const slots = this.slots.get(id);
    if (!slots) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} has no network namespace of its own (its network mode)`);
    if (slots.has(iface.networkId)) return;
    let index = 0;
    while ([...slots.values()].includes(index)) index++;
    if (index > 15) throw new SkiffError('UNSUPPORTED', `container ${id.slice(0, 12)}: at most 16 networks per container`);
    // The first interface that can carry a default route gets it (none yet: all were internal or gone).
    await agent.request('net_connect', { id, iface: wire(iface, index), default_route: slots.size === 0 && !iface.internal });
    slots.set(iface.networkId, index);
  }

  async disconnect(agent: AgentClient, id: string, iface: RuntimeInterface): Promise<void> {
    const slots = this.slots.get(id);
    const index = slots?.get(iface.networkId);
    if (!slots || index === undefined) return;
    await agent.request('net_disconnect', { id, index });
    slots.delete(iface.networkId);
  }
}
