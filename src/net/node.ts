/**
 * The network peer's Node pieces: real sockets for the guest's outbound TCP and UDP (rootless, as
 * slirp4netns does it), the host resolver for DNS, and a socket per published port: a TCP
 * listener piping each accepted connection into the guest, or a UDP socket forwarding datagrams
 * both ways, a flow per host peer. src/node.ts passes these to the VM runtime.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SkiffError } from '../errors.ts';
import { lateEvents, pipe, type Duplex, type DuplexEvents } from './duplex.ts';
import type { UpstreamResolver } from './dns.ts';
import type { Dialer, NetPeer, UdpFlow } from './peer.ts';

/** A connected Node socket as a Duplex reporting to `events`. */
export function socketDuplex(s: Socket, events: DuplexEvents): Duplex {
  s.on('data', (b: Buffer) => events.data(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
  s.on('end', () => events.end());
  s.on('drain', () => events.drain());
  s.on('error', () => {});
  s.on('close', (hadError) => events.close(hadError ? 'ECONNRESET' : undefined));
  s.setNoDelay(true);
  return {
    write: (b) => s.write(b),
    end: () => s.end(),
    destroy: () => { s.resetAndDestroy?.() ?? s.destroy(); },
    pause: () => s.pause(),
    resume: () => s.resume(),
  };
}

const UDP_IDLE_MS = 30_000;
/** UDP flows (a socket each) kept at once; a guest spraying source ports recycles the oldest. */
const MAX_UDP_FLOWS = 256;

/** Outbound through this process's own sockets. */
export function nodeDialer(opts: { connectTimeoutMs?: number } = {}): Dialer {
  const flows = new Map<string, { sock: UdpSocket; timer: ReturnType<typeof setTimeout> }>();
  return {
    tcp(host, port, events) {
      return new Promise((resolve, reject) => {
        const s = connect({ host, port, allowHalfOpen: true });
        const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })); }, opts.connectTimeoutMs ?? 20_000);
        s.once('error', (err) => { clearTimeout(timer); reject(err); });
        s.once('connect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(socketDuplex(s, events));
        });
      });
    },
    udp(host, port, payload, reply, flowKey) {
      let flow = flows.get(flowKey);
      if (!flow && flows.size >= MAX_UDP_FLOWS) {
        const [oldKey, old] = flows.entries().next().value!;
        clearTimeout(old.timer);
        flows.delete(oldKey);
        closeQuietly(old.sock);
      }
      if (!flow) {
        const sock = createSocket('udp4');
        sock.on('message', (m) => { reply(new Uint8Array(m)); });
        sock.on('error', () => { clearTimeout(flows.get(flowKey)?.timer); flows.delete(flowKey); closeQuietly(sock); });
        sock.unref();
        flow = { sock, timer: setTimeout(() => {}, 0) };
        flows.set(flowKey, flow);
      }
      clearTimeout(flow.timer);
      const f = flow;
      f.timer = setTimeout(() => { flows.delete(flowKey); closeQuietly(f.sock); }, UDP_IDLE_MS);
      f.timer.unref?.();
      f.sock.send(payload, port, host);
    },
  };
}

function closeQuietly(sock: UdpSocket): void {
  try { sock.close(); } catch { /* already closed */ }
}

/** The host's resolver (what getaddrinfo answers, /etc/hosts included). */
export const nodeUpstream: UpstreamResolver = async (name) => {
  const found = await lookup(name, { family: 4, all: true });
  return found.map((a) => a.address);
};

export interface PublishedPort {
  /** Default tcp. */
  proto?: 'tcp' | 'udp';
  /** Host address the listener binds (default 127.0.0.1). */
  hostIp?: string;
  /** 0: any free port (then read `port` from the result). */
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface PortListener {
  readonly hostIp: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on hostIp:hostPort and forwards each connection to containerIp:containerPort through
 * the peer. Fails with a SkiffError naming the address when the port cannot be bound (in use).
 */
export async function publishTcp(peer: NetPeer, p: PublishedPort): Promise<PortListener> {
  const hostIp = p.hostIp && p.hostIp !== '' ? p.hostIp : '127.0.0.1';
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    const guestEvents = lateEvents();
    const hostEvents = lateEvents();
    let guest: Duplex;
    try {
      guest = peer.connect(p.containerIp, p.containerPort, guestEvents);
    } catch {
      sock.destroy();
      return;
    }
    pipe(socketDuplex(sock, hostEvents), hostEvents, guest, guestEvents);
    sock.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(err, hostIp, p)));
    server.listen(p.hostPort, hostIp, () => resolve());
  });
  const addr = server.address();
  return {
    hostIp,
    port: typeof addr === 'object' && addr ? addr.port : p.hostPort,
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function bindError(err: NodeJS.ErrnoException, hostIp: string, p: PublishedPort): SkiffError {
  const inUse = err.code === 'EADDRINUSE';
  const proto = p.proto === 'udp' ? '/udp' : '';
  return new SkiffError(inUse ? 'IN_USE' : 'RUNTIME',
    `publishing ${hostIp}:${p.hostPort}${proto} -> ${p.containerIp}:${p.containerPort}${proto}: ${inUse ? 'the port is already in use' : err.message}`);
}

/** A published UDP flow unused this long is forgotten (Docker's userland proxy: 90 s). */
export const UDP_PUBLISH_IDLE_MS = 90_000;
/** Host peers of one published UDP port at once; past it the least recently used flow goes. */
const MAX_PUBLISHED_FLOWS = 1024;

/**
 * Binds a UDP socket on hostIp:hostPort and forwards each datagram to containerIp:containerPort
 * through the peer, a flow (its own source port toward the guest) per host peer address, so the
 * container's answers go back to the peer that asked. Flows idle for UDP_PUBLISH_IDLE_MS close.
 */
export async function publishUdp(peer: NetPeer, p: PublishedPort, opts: { idleMs?: number } = {}): Promise<PortListener> {
  const hostIp = p.hostIp && p.hostIp !== '' ? p.hostIp : '127.0.0.1';
  const idleMs = opts.idleMs ?? UDP_PUBLISH_IDLE_MS;
  const sock = createSocket('udp4');
  // Map order is recency: a flow used again moves to the end, the first one is the oldest.
  const flows = new Map<string, { flow: UdpFlow; timer: ReturnType<typeof setTimeout> }>();
  const drop = (k: string) => {
    const f = flows.get(k);
    if (!f) return;
    clearTimeout(f.timer);
    f.flow.close();
    flows.delete(k);
  };
  sock.on('message', (msg, from) => {
    const k = `${from.address}:${from.port}`;
    let f = flows.get(k);
    if (f) flows.delete(k);
    else {
      if (flows.size >= MAX_PUBLISHED_FLOWS) drop(flows.keys().next().value!);
      try {
        f = { flow: peer.udpFlow(p.containerIp, p.containerPort, (reply) => sock.send(reply, from.port, from.address)), timer: setTimeout(() => {}, 0) };
      } catch {
        return; // no free local port: the datagram is lost, as UDP allows
      }
    }
    clearTimeout(f.timer);
    f.timer = setTimeout(() => drop(k), idleMs);
    f.timer.unref?.();
    flows.set(k, f);
    f.flow.send(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', (err: NodeJS.ErrnoException) => { closeQuietly(sock); reject(bindError(err, hostIp, p)); });
    sock.bind(p.hostPort, hostIp, () => { sock.removeAllListeners('error'); sock.on('error', () => {}); resolve(); });
  });
  return {
    hostIp,
    port: sock.address().port,
    close: async () => {
      for (const k of [...flows.keys()]) drop(k);
      closeQuietly(sock);
    },
  };
}

/** publishTcp or publishUdp by the port's protocol (the VM runtime's `publish`). */
export function publishPort(peer: NetPeer, p: PublishedPort): Promise<PortListener> {
  return p.proto === 'udp' ? publishUdp(peer, p) : publishTcp(peer, p);
}
