/**
 * Containers of this VM's networks that run in other VMs (other skiff processes on Node): the
 * guest answers ARP for them on the bridge and routes them out eth0 (agent op net_remote), and
 * the host peer relays those packets to the process that runs them, which injects them into its
 * guest as if 10.0.2.2 routed them. Only same-network traffic crosses: a packet leaves only when
 * its source is a local interface on the destination's network, and a relayed packet enters only
 * when its destination is a local interface and its source a remote container of that network
 * (the table the engine built from the state store), after a refresh when the source is new.
 */
import { inCidr, parseCidr } from '../../net/policy.ts';
import { ipToString, type Ipv4Packet } from '../../net/frames.ts';
import { wirePackets } from '../../net/offload.ts';

export interface RemoteContainer {
  ip: string;
  /** Its network's subnet (CIDR) and this guest's bridge for it. */
  subnet: string;
  bridge: string;
  /** Hands an IPv4 packet to the process that runs it (fire and forget, may drop). */
  deliver(packet: Uint8Array): void;
}

export interface RemoteRoutesOptions {
  /** Adds or removes the guest's proxy ARP + /32 route (agent net_remote). */
  guestRoute(bridge: string, ip: string, add: boolean): Promise<void>;
  /** Rebuilds the table from the state store (calls `set`); asked when an unknown source sends. */
  refresh?(): Promise<void>;
}

const MAX_PENDING = 64;

export class RemoteRoutes {
  private remotes = new Map<string, RemoteContainer>();
  /** Local container interfaces: ip -> subnet. */
  private readonly local = new Map<string, string>();
  private refreshing: Promise<void> | null = null;
  private pending = 0;
  readonly stats = { out: 0, in: 0, refused: 0 };

  constructor(private readonly opts: RemoteRoutesOptions) {}

  addLocal(ip: string, subnet: string): void { this.local.set(ip, subnet); }
  removeLocal(ip: string): void { this.local.delete(ip); }
  get size(): number { return this.remotes.size; }
  has(ip: string): boolean { return this.remotes.has(ip); }

  /** The whole table; guest routes are added for new entries and removed for gone ones. */
  async set(list: RemoteContainer[]): Promise<void> {
    const next = new Map<string, RemoteContainer>();
    for (const r of list) if (!this.local.has(r.ip)) next.set(r.ip, r);
    const gone = [...this.remotes.values()].filter((r) => next.get(r.ip)?.bridge !== r.bridge);
    const added = [...next.values()].filter((r) => this.remotes.get(r.ip)?.bridge !== r.bridge);
    this.remotes = next;
    for (const r of gone) await this.opts.guestRoute(r.bridge, r.ip, false).catch(() => {});
    for (const r of added) await this.opts.guestRoute(r.bridge, r.ip, true);
  }

  /** The peer's relay hook: takes a guest packet bound for a remote container of the source's network. */
  outbound(packet: Uint8Array, ip: Ipv4Packet): boolean {
    const r = this.remotes.get(ipToString(ip.dst));
    if (!r) return false;
    const src = ipToString(ip.src);
    if (this.local.get(src) !== r.subnet || !inCidr(ip.src, parseCidr(r.subnet))) { this.stats.refused++; return true; }
    this.stats.out++;
    // The guest's offloads (net/offload.ts): the other guest gets wire-sized packets with checksums.
    for (const p of wirePackets(packet, ip)) r.deliver(p);
    return true;
  }

  /** A packet another process relayed: checked, then `inject` (the peer) when it may enter. */
  async inbound(packet: Uint8Array, ip: Ipv4Packet, inject: (p: Uint8Array) => void): Promise<boolean> {
    const subnet = this.local.get(ipToString(ip.dst));
    const src = ipToString(ip.src);
    if (!subnet || this.local.has(src) || !inCidr(ip.src, parseCidr(subnet))) { this.stats.refused++; return false; }
    if (this.remotes.get(src)?.subnet !== subnet && this.opts.refresh) {
      // A container started after our last look: ask the state store once, with a bounded queue.
      if (this.pending >= MAX_PENDING) { this.stats.refused++; return false; }
      this.pending++;
      try {
        await (this.refreshing ??= this.opts.refresh().finally(() => { this.refreshing = null; }));
      } catch { /* an unreadable store refuses below */ } finally { this.pending--; }
    }
    if (this.remotes.get(src)?.subnet !== subnet) { this.stats.refused++; return false; }
    this.stats.in++;
    inject(packet);
    return true;
  }
}
