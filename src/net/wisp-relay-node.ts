/**
 * A Wisp relay on Node: what `npm start` serves beside the page (vite.config.ts) and what the
 * browser tests start on loopback, so a page's containers reach TCP services through it. Each
 * CONNECT becomes a net.Socket; credit (CONTINUE) is refilled only while the socket is not
 * backed up, so a fast page cannot make the relay buffer without bound. An open proxy: bind it to
 * loopback (the default) unless you mean it.
 *
 * It speaks v2's handshake (INFO after the first CONTINUE) to offer skiff's SHUTDOWN extension
 * (wisp.ts): a client that lists it too may half-close a stream, and the socket then sends its FIN
 * while the answer keeps coming. v1 clients ignore the INFO and never send SHUTDOWN.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex as NodeDuplex } from 'node:stream';
import { CLOSE_REASON, decodeWisp, encodeWisp, infoExtensions, infoPayload, readU32le, SHUTDOWN_EXTENSION, u32le, WISP } from './wisp.ts';
import { acceptUpgrade, encodeFrame, FrameReader } from './websocket-node.ts';

const CREDIT = 128;

/** Serves one upgraded WebSocket as a Wisp connection. */
export function serveWisp(socket: NodeDuplex): void {
  const streams = new Map<number, { sock: Socket; sent: number }>();
  /** The client answered our INFO listing SHUTDOWN. */
  let halfClose = false;
  const send = (type: number, id: number, payload: Uint8Array) => { if (!socket.destroyed) socket.write(encodeFrame(encodeWisp(type, id, payload))); };
  const close = (id: number, reason: number) => {
    const s = streams.get(id);
    if (!s) return;
    streams.delete(id);
    send(WISP.CLOSE, id, Uint8Array.of(reason));
    s.sock.destroy();
  };
  const reader = new FrameReader({
    message: (b) => {
      const p = decodeWisp(b);
      if (!p) return;
      if (p.stream === 0) {
        if (p.type === WISP.INFO) halfClose = infoExtensions(p.payload).includes(SHUTDOWN_EXTENSION);
        return;
      }
      if (p.type === WISP.CONNECT) {
        const port = p.payload.length >= 3 ? p.payload[1] | (p.payload[2] << 8) : 0;
        const host = new TextDecoder().decode(p.payload.subarray(3));
        if (p.payload[0] !== 1 || !port || !host) { send(WISP.CLOSE, p.stream, Uint8Array.of(CLOSE_REASON.INVALID)); return; }
        const sock = connect({ host, port });
        const s = { sock, sent: 0 };
        streams.set(p.stream, s);
        sock.setNoDelay(true);
        sock.on('data', (d: Buffer) => send(WISP.DATA, p.stream, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
        sock.on('drain', () => { if (s.sent >= CREDIT / 2) { s.sent = 0; send(WISP.CONTINUE, p.stream, u32le(CREDIT)); } });
        sock.on('error', (err: NodeJS.ErrnoException) => close(p.stream, err.code === 'ECONNREFUSED' ? CLOSE_REASON.REFUSED
          : err.code === 'ETIMEDOUT' ? CLOSE_REASON.CONNECT_TIMEOUT : err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' ? CLOSE_REASON.UNREACHABLE : CLOSE_REASON.NETWORK));
        sock.on('close', () => close(p.stream, CLOSE_REASON.VOLUNTARY));
        return;
      }
      const s = streams.get(p.stream);
      if (!s) return;
      if (p.type === WISP.DATA) {
        const ok = s.sock.write(p.payload);
        if (++s.sent >= CREDIT / 2 && ok) { s.sent = 0; send(WISP.CONTINUE, p.stream, u32le(CREDIT)); }
      } else if (p.type === WISP.SHUTDOWN && halfClose) {
        // The client's side is done: FIN to the server, keep reading its answer.
        s.sock.end();
      } else if (p.type === WISP.CLOSE) {
        streams.delete(p.stream);
        if (p.payload[0] === CLOSE_REASON.VOLUNTARY) s.sock.end(); else s.sock.destroy();
      } else if (p.type === WISP.CONTINUE) void readU32le(p.payload);
    },
    close: () => socket.end(),
    ping: (b) => { if (!socket.destroyed) socket.write(encodeFrame(b, 10)); },
    error: () => socket.destroy(),
  });
  socket.on('data', (c: Buffer) => reader.push(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)));
  socket.on('error', () => {});
  socket.on('close', () => { for (const s of streams.values()) s.sock.destroy(); streams.clear(); });
  send(WISP.CONTINUE, 0, u32le(CREDIT));
  send(WISP.INFO, 0, infoPayload([SHUTDOWN_EXTENSION]));
}

/** Handles an HTTP server's `upgrade` for `path` (others are left to their owners, e.g. vite's HMR). */
export function wispUpgradeHandler(path: string) {
  return (req: IncomingMessage, socket: NodeDuplex): boolean => {
    if (!(req.url ?? '').startsWith(path)) return false;
    if (acceptUpgrade(req, socket)) serveWisp(socket);
    return true;
  };
}

/** A standalone relay on host:port (port 0: any); resolves with its URL. */
export async function startWispRelay(o: { host?: string; port?: number } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const host = o.host ?? '127.0.0.1';
  const handle = wispUpgradeHandler('/');
  const sockets = new Set<NodeDuplex>();
  const server = createServer((_req, res) => { res.writeHead(426, { 'content-type': 'text/plain' }).end('a Wisp relay: connect with a WebSocket\n'); });
  server.on('upgrade', (req, socket: NodeDuplex) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); handle(req, socket); });
  await new Promise<void>((r) => server.listen(o.port ?? 0, host, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://${host}:${port}/`, server,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** Where `npm start` (and `vite preview`) serve the relay: the page's own origin, this path. */
export const WISP_RELAY_PATH = '/_skiff/wisp';

type UpgradeServer = { httpServer: { on(ev: 'upgrade', cb: (req: IncomingMessage, socket: NodeDuplex) => void): unknown } | null };

/** A vite plugin: the Wisp relay on the dev and preview servers (loopback by vite's default host). */
export function wispRelayPlugin(): { name: string; configureServer(s: UpgradeServer): void; configurePreviewServer(s: UpgradeServer): void } {
  const handle = wispUpgradeHandler(WISP_RELAY_PATH);
  const attach = (s: UpgradeServer) => { s.httpServer?.on('upgrade', (req, socket) => { handle(req, socket); }); };
  return { name: 'skiff-wisp-relay', configureServer: attach, configurePreviewServer: attach };
}
