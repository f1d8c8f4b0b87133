/**
 * On Node every `run` and `start` runs its container in a VM of the process that holds it (this
 * one, or a `__hold` process for -d): containers of different processes are in different guests
 * and cannot reach each other, even on one user network (engine/networks.ts allocates their
 * addresses and the DNS answers their names all the same). Until the host side switches packets
 * between processes, say so when it happens, instead of leaving a connection to time out unexplained.
 */
import type { Engine } from '../engine/engine.ts';
import type { RunOptions } from '../runtime/spec/options.ts';
import { networkModeKind } from '../runtime/spec/network.ts';

/** The user networks (not the default bridge) a container will be on. */
export function userNetworksOf(o: { run?: RunOptions; endpoints?: Record<string, unknown> }): string[] {
  if (o.endpoints) return Object.keys(o.endpoints).filter((n) => n !== 'bridge');
  const mode = o.run?.network ?? 'bridge';
  return networkModeKind(mode) === 'user' ? [mode] : [];
}

/** The warning for a container about to start on `networks`, if running containers share one. */
export async function separateVmWarning(engine: Engine, networks: string[], self?: string): Promise<string | undefined> {
  if (networks.length === 0) return undefined;
  const peers = (await engine.listContainers()).filter((c) => c.id !== self && !engine.isContainerLive({ id: c.id })
    && networks.some((n) => c.spec.network?.endpoints[n] !== undefined));
  if (peers.length === 0) return undefined;
  const names = peers.slice(0, 3).map((c) => c.name).join(', ') + (peers.length > 3 ? ', ...' : '');
  return `skiff: warning: ${names} on network ${networks.join(', ')} run in other skiff processes, each in a VM of its own: `
    + `this container cannot reach them. Containers started by one engine share a VM (skiff system serve with docker or docker-compose).\n`;
}
