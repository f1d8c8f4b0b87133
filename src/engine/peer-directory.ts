/**
 * Who runs where, for cross-VM networking on Node: each skiff process has its own VM, so a
 * container reaches one of another process only through that process. The runtimes ask this
 * (runtime/vm/network.ts refreshRemotes) for the running containers of other live owners, each
 * address with a way to hand it packets: one control connection (op `packets`) per target
 * container, opened on first use and dropped when it closes. The state store is the source:
 * records are read at each refresh (a local start, a name lookup of an unknown address, a
 * packet from an unknown source), not pushed.
 */
import type { ContainerStore } from './container-store.ts';
import type { ControlPlane, Owner, PacketChannel } from './control/types.ts';

/** Packets held while the connection to their owner opens (the first SYN among them). */
const MAX_WAITING = 64;

export interface PeerEndpoint {
  ip: string;
  networkId: string;
  deliver(packet: Uint8Array): void;
}

export class PeerDirectory {
  private readonly channels = new Map<string, { channel: PacketChannel | null; waiting: Uint8Array[] }>();
  private readonly listeners = new Set<() => void>();

  /**
   * `cb` runs when an owner went away or could not be reached: the table that led there is stale
   * (an address may now belong to a container of another process), so the runtime lists again.
   */
  onChange(cb: () => void): void {
    this.listeners.add(cb);
  }

  private changed(): void {
    for (const cb of this.listeners) cb();
  }

  constructor(private readonly containers: ContainerStore, private readonly plane: ControlPlane) {}

  async list(): Promise<PeerEndpoint[]> {
    const out: PeerEndpoint[] = [];
    for (const rec of await this.containers.list()) {
      const owner = rec.runtimeData?.['owner'] as Owner | undefined;
      if (rec.state !== 'running' || !owner?.control || owner.session === this.plane.self.session || !this.plane.alive(owner)) continue;
      for (const ep of Object.values(rec.spec.network?.endpoints ?? {})) {
        if (!ep.ip || !ep.networkId) continue;
        out.push({ ip: ep.ip, networkId: ep.networkId, deliver: (p) => this.deliver(owner, rec.id, p) });
      }
    }
    return out;
  }

  private deliver(owner: Owner, id: string, packet: Uint8Array): void {
    const key = `${owner.session}/${id}`;
    let c = this.channels.get(key);
    if (c?.channel) { c.channel.send(packet); return; }
    if (c) { if (c.waiting.length < MAX_WAITING) c.waiting.push(packet); return; }
    const entry: { channel: PacketChannel | null; waiting: Uint8Array[] } = { channel: null, waiting: [packet] };
    c = entry;
    this.channels.set(key, entry);
    void (async () => {
      const remote = await this.plane.connect(owner, id);
      const channel = remote ? await remote.packets().catch(() => null) : null;
      if (!channel) { this.channels.delete(key); this.changed(); return; }
      entry.channel = channel;
      for (const p of entry.waiting.splice(0)) channel.send(p);
      void channel.closed.then(() => { if (this.channels.get(key) === entry) this.channels.delete(key); this.changed(); });
    })().catch(() => { this.channels.delete(key); this.changed(); });
  }

  close(): void {
    for (const c of this.channels.values()) c.channel?.close();
    this.channels.clear();
  }
}
