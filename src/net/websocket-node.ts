/**
 * Just enough RFC 6455 for the Wisp relay on Node (no dependency): the upgrade handshake and
 * binary frames, both directions (`mask` for a client). Control frames: close is echoed, ping is
 * answered; text frames are treated as binary (Wisp never sends text).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex as NodeDuplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 16 * 1024 * 1024;

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Completes a server-side upgrade; false (and a 400) when the request is not a WebSocket one. */
export function acceptUpgrade(req: IncomingMessage, socket: NodeDuplex): boolean {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return false;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
  return true;
}

export function encodeFrame(payload: Uint8Array, opcode = 2, mask = false): Uint8Array {
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + (mask ? 4 : 0) + n);
  out[0] = 0x80 | opcode;
  out[1] = (mask ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  const v = new DataView(out.buffer);
  if (ext === 2) v.setUint16(2, n);
  if (ext === 8) v.setBigUint64(2, BigInt(n));
  let o = 2 + ext;
  if (mask) {
    const key = Uint8Array.from({ length: 4 }, () => (Math.random() * 256) | 0);
    out.set(key, o);
    o += 4;
    for (let i = 0; i < n; i++) out[o + i] = payload[i] ^ key[i & 3];
  } else out.set(payload, o);
  return out;
}

/** Reassembles frames from a byte stream; calls `onMessage` per complete message. */
export class FrameReader {
  private buf = new Uint8Array(0);
  private parts: Uint8Array[] = [];

  constructor(private readonly on: { message(b: Uint8Array): void; close(): void; ping(b: Uint8Array): void; error(msg: string): void }) {}

  push(chunk: Uint8Array): void {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f;
      let o = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = (this.buf[2] << 8) | this.buf[3]; o = 4; }
      else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(new DataView(this.buf.buffer, this.buf.byteOffset).getBigUint64(2));
        o = 10;
      }
      if (len > MAX_MESSAGE) return this.on.error(`a WebSocket frame of ${len} bytes is too large`);
      const masked = (b1 & 0x80) !== 0;
      const need = o + (masked ? 4 : 0) + len;
      if (this.buf.length < need) return;
      const payload = this.buf.slice(o + (masked ? 4 : 0), need);
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= this.buf[o + (i & 3)];
      this.buf = this.buf.subarray(need);
      const opcode = b0 & 0x0f;
      if (opcode === 8) return this.on.close();
      if (opcode === 9) { this.on.ping(payload); continue; }
      if (opcode === 10) continue;
      this.parts.push(payload);
      if (b0 & 0x80) {
        const whole = this.parts.length === 1 ? this.parts[0] : concat(this.parts);
        this.parts = [];
        this.on.message(whole);
      }
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
