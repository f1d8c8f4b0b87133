/** A WebSocketLike client over node:net for the Wisp tests (Node 20 has no WebSocket global). */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { acceptKey, encodeFrame, FrameReader } from '../../src/net/websocket-node.ts';
import type { WebSocketLike } from '../../src/net/wisp.ts';

export function nodeWebSocket(url: string): WebSocketLike {
  const u = new URL(url);
  const listeners: Record<string, ((ev: { data?: unknown }) => void)[]> = { open: [], message: [], close: [], error: [] };
  const emit = (t: string, ev: { data?: unknown } = {}) => { for (const l of listeners[t]) l(ev); };
  const key = randomBytes(16).toString('base64');
  const sock = connect({ host: u.hostname, port: Number(u.port) });
  let open = false;
  let head = '';
  const reader = new FrameReader({
    message: (b) => emit('message', { data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) }),
    close: () => sock.end(),
    ping: () => {},
    error: () => sock.destroy(),
  });
  const ws: WebSocketLike = {
    binaryType: 'arraybuffer',
    readyState: 0,
    send: (d) => { sock.write(encodeFrame(d, 2, true)); },
    close: () => { sock.end(encodeFrame(new Uint8Array(0), 8, true)); },
    addEventListener: (t, cb) => void listeners[t].push(cb),
  };
  sock.on('connect', () => sock.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
  sock.on('data', (d: Buffer) => {
    if (open) return reader.push(new Uint8Array(d));
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    if (!head.startsWith('HTTP/1.1 101') || !head.includes(acceptKey(key))) { sock.destroy(); return; }
    open = true;
    ws.readyState = 1;
    emit('open');
    const rest = Buffer.from(head.slice(end + 4), 'latin1');
    if (rest.length) reader.push(new Uint8Array(rest));
  });
  sock.on('error', () => emit('error'));
  sock.on('close', () => { ws.readyState = 3; emit('close'); });
  return ws;
}
