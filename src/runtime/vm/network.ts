/**
 * The VM's network: one host-side peer (src/net NetPeer) per running machine, wired to the guest's
 * virtio-net NIC, and what each container adds to it at start: `--add-host X:host-gateway`
 * (its addresses may reach the host's loopback through 10.0.2.2) and its published ports (a
 * listener per port, from the entry point's `publish`, forwarding into the container's address).
 * The entry point supplies the platform parts: Node's sockets and resolver (src/net/node.ts), a
 * Wisp relay in a page, or nothing (outbound then fails at once).
 */
import { SkiffError } from '../../errors.ts';
import type { NameResolver, UpstreamResolver } from '../../net/dns.ts';
import { httpThroughPeer, type HttpRequestLike, type HttpResponseLike } from '../../net/http-port.ts';
import { NetPeer, type Dialer } from '../../net/peer.ts';
import { parseIpv4 } from '../../net/frames.ts';
import { inCidr, parseCidr } from '../../net/policy.ts';
import { ipFromString } from '../../net/frames.ts';
import { RemoteRoutes, type RemoteContainer } from './remote-routes.ts';
import type { PortMapping } from '../spec/ports.ts';
import type { Machine } from './machine.ts';

export type { PortMapping };

/** What a listener reports once bound (hostPort is the real one). */
export interface PortBinding extends PortMapping {
  containerIp: string;
}

export interface PortListenerHandle {
  readonly port: number;
  close(): Promise<void>;
}

export interface VmNetworkOptions {
  /** Outbound connections (Node: nodeDialer(); page: a Wisp dialer); null or absent: none. */
  dialer?: Dialer | null;
  /** host-gateway's target (the host's loopback); default `dialer`. */
  loopback?: Dialer | null;
  upstream?: UpstreamResolver;
  /** Container names (the engine's networks); can be set later with `setResolver`. */
  resolve?: NameResolver;
  /**
   * Binds a published port, TCP or UDP (Node: publishPort). Absent (a page): TCP ports are only
   * recorded and served through `portRequest` (the service worker's /_skiff/ports/<port>/ route);
   * UDP ones are refused (a page has no UDP to offer).
   */
  publish?: (peer: NetPeer, p: { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; containerIp: string; containerPort: number }) => Promise<PortListenerHandle>;
  trace?: (line: string) => void;
}

/**
 * The part of a container's network the host side needs (structurally runtime/types.ts
 * RuntimeNetwork, which the engine passes in StartContainerRequest.network).
 */
export interface ContainerNetworkLike {
  interfaces: { ip: string; subnet?: string; networkId?: string; bridge?: string }[];
  extraHosts: { host: string; ip: string }[];
}

const HOST_GATEWAY = '10.0.2.2';

/** A running container of another skiff process (its VM), as the engine's state store lists it. */
export interface PeerEndpoint {
  ip: string;
  networkId: string;
  deliver(packet: Uint8Array): void;
}

/** Who runs where (the engine: running records owned by other live processes). */
export interface PeerDirectory {
  list(): Promise<PeerEndpoint[]>;
  /** Called back when an owner went away (the table is stale). */
  onChange?(cb: () => void): void;
}
const TICK_MS = 50;

export class VmNetwork {
  private current: { machine: Machine; peer: NetPeer; timer: ReturnType<typeof setInterval> } | null = null;
  private resolver: NameResolver | undefined;
  private readonly gatewaySources = new Set<string>();
  /** Every container subnet seen in this runtime: traffic toward one never leaves through the host. */
  private readonly subnets = new Set<string>();
  private readonly byContainer = new Map<string, { sources: string[]; listeners: PortListenerHandle[] }>();
  /** Ports published without a host listener (a page): host port -> the container's address. */
  private readonly virtualPorts = new Map<number, { ip: string; port: number }>();

  /** Local interfaces by address: their network, for matching containers of other VMs. */
  private readonly localIfaces = new Map<string, { networkId: string; subnet: string; bridge: string; owner: string }>();
  private directory: PeerDirectory | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private nextRefresh: Promise<void> | null = null;
  /** Containers of the same networks in other VMs (remote-routes.ts). */
  readonly remote: RemoteRoutes;

  constructor(private readonly opts: VmNetworkOptions = {}) {
    this.resolver = opts.resolve;
    this.remote = new RemoteRoutes({
      guestRoute: async (bridge, ip, add) => { await this.current?.machine.agent.request('net_remote', { bridge, ip, add }); },
      refresh: () => this.refreshRemotes(),
    });
  }

  /** Where containers of other VMs are found (Node: the engine over its state store and control sockets). */
  setPeerDirectory(dir: PeerDirectory | undefined): void {
    this.directory = dir;
    dir?.onChange?.(() => { if (this.directory === dir) void this.refreshRemotes().catch(() => {}); });
  }

  /**
   * Re-reads who runs where and updates the guest's routes. Called after a local start, when a
   * name resolves to an address no VM here knows, and when an unknown source relays a packet.
   */
  refreshRemotes(): Promise<void> {
    // One at a time (guest routes follow the table in order); callers meanwhile share the next one.
    this.nextRefresh ??= this.refreshing.then(() => { this.nextRefresh = null; return this.refreshNow(); });
    const p = this.nextRefresh;
    this.refreshing = p.catch(() => {});
    return p;
  }

  private async refreshNow(): Promise<void> {
    const dir = this.directory;
    if (!dir || !this.current || this.localIfaces.size === 0) return;
    const byNetwork = new Map<string, { subnet: string; bridge: string }>();
    for (const l of this.localIfaces.values()) byNetwork.set(l.networkId, l);
    const list: RemoteContainer[] = [];
    for (const e of await dir.list()) {
      const net = byNetwork.get(e.networkId);
      if (net && !this.localIfaces.has(e.ip) && inCidr(ipFromString(e.ip), parseCidr(net.subnet))) list.push({ ip: e.ip, subnet: net.subnet, bridge: net.bridge, deliver: e.deliver });
    }
    await this.remote.set(list);
  }

  /** A packet another process relayed for a container of this VM: injected when it may enter. */
  async relayIn(packet: Uint8Array): Promise<boolean> {
    const peer = this.peer;
    const ip = peer ? parseIpv4(packet) : null;
    if (!peer || !ip) return false;
    return this.remote.inbound(packet, ip, (p) => peer.inject(p));
  }

  /** Names answered with an address in one of our networks that no VM here knows: look again first. */
  private async resolveAndLearn(name: string, src: string): Promise<string[] | null | undefined> {
    const ips = await this.resolver?.(name, src);
    if (ips && this.directory && ips.some((ip) => !this.localIfaces.has(ip) && !this.remote.has(ip) && [...this.localIfaces.values()].some((l) => inCidr(ipFromString(ip), parseCidr(l.subnet))))) {
      await this.refreshRemotes().catch((err) => this.opts.trace?.(`remote containers: ${(err as Error).message}`));
    }
    return ips;
  }

  /** The engine's name resolver (engine/network-dns.ts); consulted per query, so it may change. */
  setResolver(resolve: NameResolver | undefined): void {
    this.resolver = resolve;
  }

  /** The peer of the running machine (tests, benches, the page's port route). */
  get peer(): NetPeer | null {
    return this.current?.peer ?? null;
  }

  /** Plugs a freshly started machine's NIC into a new peer. */
  attach(machine: Machine): NetPeer {
    this.detach();
    const peer = new NetPeer({
      send: (frames) => machine.sendFrames(frames),
      dialer: this.opts.dialer ?? null,
      loopback: this.opts.loopback ?? this.opts.dialer ?? null,
      resolve: (name, src) => this.resolveAndLearn(name, src),
      relay: (packet, ip) => this.remote.outbound(packet, ip),
      upstream: this.opts.upstream,
      hostGatewaySources: this.gatewaySources,
      containerSubnets: this.subnets,
      // net-pump.ts offers the guest's NIC checksum and segmentation offload (net/offload.ts).
      checksumOffload: true,
      segmentSize: 32 * 1024,
      trace: this.opts.trace,
    });
    machine.setNetHandler((frames) => peer.input(frames));
    const timer = setInterval(() => peer.tick(), TICK_MS);
    (timer as { unref?: () => void }).unref?.();
    this.current = { machine, peer, timer };
    peer.probeGuest();
    return peer;
  }

  detach(): void {
    if (!this.current) return;
    clearInterval(this.current.timer);
    this.current.machine.setNetHandler(null);
    this.current = null;
  }

  /** At container start: host-gateway sources and published ports. Fails (and undoes) if a port cannot be bound. */
  async addContainer(id: string, network: ContainerNetworkLike | undefined, ports: PortMapping[] = []): Promise<PortBinding[]> {
    await this.removeContainer(id);
    const ips = (network?.interfaces ?? []).map((i) => i.ip);
    for (const i of network?.interfaces ?? []) if (i.subnet) this.subnets.add(i.subnet);
    for (const i of network?.interfaces ?? []) {
      if (!i.subnet || !i.networkId || !i.bridge) continue;
      this.localIfaces.set(i.ip, { networkId: i.networkId, subnet: i.subnet, bridge: i.bridge, owner: id });
      this.remote.addLocal(i.ip, i.subnet);
    }
    const entry = { sources: [] as string[], listeners: [] as PortListenerHandle[] };
    this.byContainer.set(id, entry);
    if (network?.extraHosts.some((h) => h.ip === HOST_GATEWAY)) for (const ip of ips) { this.gatewaySources.add(ip); entry.sources.push(ip); }
    const bound: PortBinding[] = [];
    if (!ports.length) return bound;
    const peer = this.peer;
    const containerIp = ips[0];
    try {
      if (!containerIp) throw new SkiffError('INVALID_ARGUMENT', 'published ports need a network with an address (not --network none, host or container:)');
      if (!peer) throw new SkiffError('INTERNAL', 'the VM network is not attached');
      for (const p of ports) {
        if (p.proto === 'udp' && !this.opts.publish) {
          throw new SkiffError('UNSUPPORTED', `publishing ${p.containerPort}/udp: UDP ports cannot be published in the browser (a page reaches a container only over HTTP, at /_skiff/ports/<port>/)`);
        }
        const target = { proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp, containerPort: p.containerPort };
        const l = this.opts.publish ? await this.opts.publish(peer, target) : this.publishVirtual(target);
        entry.listeners.push(l);
        bound.push({ ...p, hostIp: p.hostIp || '127.0.0.1', hostPort: l.port, containerIp });
      }
    } catch (err) {
      await this.removeContainer(id);
      throw err;
    }
    return bound;
  }

  /** One HTTP exchange with whatever a published port leads to (the page's port route). */
  async portRequest(hostPort: number, req: HttpRequestLike): Promise<HttpResponseLike> {
    const target = this.virtualPorts.get(hostPort);
    if (!target) throw new SkiffError('NOT_FOUND', `no container publishes port ${hostPort}`);
    const peer = this.peer;
    if (!peer) throw new SkiffError('CONFLICT', 'the Linux VM is not running');
    return httpThroughPeer(peer, target, req);
  }

  /** Published ports that have no host listener, as host port -> container address. */
  get pagePorts(): ReadonlyMap<number, { ip: string; port: number }> {
    return this.virtualPorts;
  }

  private publishVirtual(t: { hostPort: number; containerIp: string; containerPort: number }): PortListenerHandle {
    let port = t.hostPort;
    if (port === 0) for (port = 32768; this.virtualPorts.has(port); port++);
    if (this.virtualPorts.has(port)) throw new SkiffError('IN_USE', `port ${port} is already published by another container`);
    this.virtualPorts.set(port, { ip: t.containerIp, port: t.containerPort });
    return { port, close: async () => { if (this.virtualPorts.get(port)?.ip === t.containerIp) this.virtualPorts.delete(port); } };
  }

  /**
   * `network connect`/`disconnect` of a running container: its address on that network is one of
   * ours (or no longer), so containers of that network in other VMs are routed to and from it.
   */
  plugged(id: string, iface: { ip: string; subnet: string; networkId: string; bridge: string }, on: boolean): void {
    if (on) {
      this.subnets.add(iface.subnet);
      this.localIfaces.set(iface.ip, { networkId: iface.networkId, subnet: iface.subnet, bridge: iface.bridge, owner: id });
      this.remote.addLocal(iface.ip, iface.subnet);
    } else if (this.localIfaces.get(iface.ip)?.owner === id) {
      this.localIfaces.delete(iface.ip);
      this.remote.removeLocal(iface.ip);
    }
    void this.refreshRemotes().catch(() => {});
  }

  async removeContainer(id: string): Promise<void> {
    for (const [ip, l] of this.localIfaces) if (l.owner === id) { this.localIfaces.delete(ip); this.remote.removeLocal(ip); }
    const e = this.byContainer.get(id);
    if (!e) return;
    this.byContainer.delete(id);
    for (const ip of e.sources) this.gatewaySources.delete(ip);
    await Promise.all(e.listeners.map((l) => l.close().catch(() => {})));
  }
}
