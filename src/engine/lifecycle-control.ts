/**
 * What this engine's control socket serves (control/types.ts ControlTarget): its own operations
 * on the containers it runs, for other skiff processes (control/remote.ts is the other end).
 * Served from the first start on (container-start.ts).
 */
import { SkiffError } from '../errors.ts';
import { attachContainer } from './container-attach.ts';
import { execInContainer } from './container-exec.ts';
import { signalHere } from './container-signals.ts';
import type { ControlTarget, LogRecord } from './control/types.ts';
import { inspectContainer, type LifecycleCore } from './lifecycle-core.ts';
import { freezeLocal } from './lifecycle-resources.ts';
import { statsHere, updateHere } from './resources.ts';

export function controlTarget(core: LifecycleCore): ControlTarget {
  const get = (id: string) => {
    const r = core.running.get(id);
    if (!r) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not running here`);
    return r;
  };
  return {
    owns: (id) => core.running.has(id),
    signal: (id, sig) => signalHere(core, get(id), id, /^\d+$/.test(sig) ? Number(sig) : sig),
    resize: (id, size) => get(id).proc.resize(size),
    wait: (id) => get(id).exited,
    exec: (id, spec, io) => execInContainer(core, id, { ...spec, io }),
    attach: (id, io) => attachContainer(core, id, io),
    logs: (id, onEntry?: (e: LogRecord) => void) => {
      const logs = get(id).logs;
      if (onEntry) logs.listeners.add(onEntry);
      return { entries: [...logs.entries], unsubscribe: () => void (onEntry && logs.listeners.delete(onEntry)) };
    },
    freeze: async (id, frozen) => void (await freezeLocal(core, get(id), await inspectContainer(core, id), frozen)),
    persist: async (id) => {
      get(id);
      await core.containers.persist(id);
    },
    stats: async (id) => statsHere(get(id).runtime, await inspectContainer(core, id)),
    update: async (id, limits) => void (await updateHere(core.containers, get(id).runtime, await inspectContainer(core, id), limits)),
    // The interface comes from this side's reading of the record (the caller changed it), not from the request.
    connect: async (id, networkId) => {
      const { runtime } = get(id);
      const net = await core.networkFor?.(await inspectContainer(core, id), (other) => core.running.has(other));
      const iface = net?.interfaces.find((i) => i.networkId === networkId);
      if (!iface) throw new SkiffError('NOT_FOUND', `container ${id.slice(0, 12)} has no endpoint on network ${networkId.slice(0, 12)}`);
      if (!runtime.connect) throw new SkiffError('UNSUPPORTED', `the ${runtime.name} runtime cannot connect a running container to a network`);
      await runtime.connect(id, iface);
    },
    // A runtime unplugs by network (and forgets the address); it only ever removes what it plugged for this container.
    disconnect: async (id, networkId, ip) => {
      const { runtime } = get(id);
      if (!runtime.disconnect) throw new SkiffError('UNSUPPORTED', `the ${runtime.name} runtime cannot disconnect a running container from a network`);
      await runtime.disconnect(id, { network: '', networkId, bridge: '', subnet: '', gateway: '', ip, prefixLen: 0, mac: '', internal: false });
    },
    // Checked by the runtime (same network, known sender) before it reaches the guest.
    packet: (id, p) => void core.running.get(id)?.runtime.relayIn?.(p).catch(() => {}),
  };
}
