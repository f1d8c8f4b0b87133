/**
 * One HTTP exchange with a server in a container over a TCP connection the peer opens into the
 * guest: how a page shows a published port without any listener (the service worker's
 * `/_skiff/ports/<port>/` route hands requests to the engine, which answers with this). HTTP/1.1
 * with `Connection: close`; the answer is read to the end of the connection and parsed
 * (Content-Length, chunked, or until close).
 */
import { SkiffError } from '../errors.ts';
import { lateEvents } from './duplex.ts';
import type { NetPeer } from './peer.ts';

export interface HttpRequestLike { method: string; path: string; headers: [string, string][]; body?: Uint8Array }
export interface HttpResponseLike { status: number; statusText: string; headers: [string, string][]; body: Uint8Array }

const MAX_RESPONSE = 64 * 1024 * 1024;
/** Hop-by-hop headers: they describe this connection, not the message. */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function httpThroughPeer(peer: NetPeer, target: { ip: string; port: number }, req: HttpRequestLike, timeoutMs = 30_000): Promise<HttpResponseLike> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    const ev = lateEvents();
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) return reject(err);
      try { resolve(parseResponse(concat(chunks))); } catch (e) { reject(e); }
    };
    const timer = setTimeout(() => { conn.destroy(); finish(new SkiffError('RUNTIME', `HTTP to ${target.ip}:${target.port}: no complete answer within ${timeoutMs} ms`)); }, timeoutMs);
    ev.data = (b) => {
      size += b.length;
      if (size > MAX_RESPONSE) { conn.destroy(); finish(new SkiffError('RUNTIME', `HTTP to ${target.ip}:${target.port}: the answer is larger than ${MAX_RESPONSE} bytes`)); return; }
      chunks.push(b);
    };
    ev.end = () => { conn.end(); finish(); };
    ev.close = (error) => finish(error ? new SkiffError('RUNTIME', `HTTP to ${target.ip}:${target.port}: ${error === 'ECONNREFUSED' ? 'nothing listens on that port in the container' : error}`) : undefined);
    const conn = peer.connect(target.ip, target.port, ev);
    const head = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${target.ip}:${target.port}`,
      ...req.headers.filter(([k]) => !HOP.has(k.toLowerCase()) && k.toLowerCase() !== 'host' && k.toLowerCase() !== 'content-length').map(([k, v]) => `${k}: ${v}`),
      ...(req.body?.length ? [`Content-Length: ${req.body.length}`] : []), 'Connection: close', '', ''].join('\r\n');
    conn.write(new TextEncoder().encode(head));
    if (req.body?.length) conn.write(req.body);
  });
}

export function parseResponse(raw: Uint8Array): HttpResponseLike {
  let end = -1;
  for (let i = 0; i + 3 < raw.length; i++) if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) { end = i; break; }
  if (end < 0) throw new SkiffError('RUNTIME', `the container's server sent no complete HTTP header (${raw.length} bytes)`);
  const lines = new TextDecoder('latin1').decode(raw.subarray(0, end)).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) throw new SkiffError('RUNTIME', `the container's server sent no HTTP status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.push([l.slice(0, i).trim(), l.slice(i + 1).trim()]);
  }
  const get = (k: string) => headers.find(([h]) => h.toLowerCase() === k)?.[1];
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(get('transfer-encoding') ?? '')) body = dechunk(body);
  else if (get('content-length') !== undefined) body = body.subarray(0, Number(get('content-length')));
  return { status: Number(m[1]), statusText: m[2] ?? '', headers: headers.filter(([k]) => !HOP.has(k.toLowerCase())), body: body.slice() };
}

function dechunk(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let o = 0;
  for (;;) {
    let nl = o;
    while (nl + 1 < b.length && !(b[nl] === 13 && b[nl + 1] === 10)) nl++;
    if (nl + 1 >= b.length) break;
    const n = parseInt(new TextDecoder().decode(b.subarray(o, nl)).split(';')[0]!, 16);
    if (!Number.isFinite(n) || n === 0) break;
    parts.push(b.subarray(nl + 2, nl + 2 + n));
    o = nl + 2 + n + 2;
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
