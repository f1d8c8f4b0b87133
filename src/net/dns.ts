/**
 * The DNS server at 10.0.2.3, as a codec and one async answer function: a query's A question goes
 * to the engine's resolver (container names on the sender's network), then upstream (the host's
 * resolver on Node, a Wisp relay or nothing in a page). Anything it cannot answer fails at once
 * (NXDOMAIN / SERVFAIL / NOTIMP): a container's lookup never waits for a timeout.
 */
import { ipFromString } from './frames.ts';

export interface DnsQuestion { name: string; type: number; klass: number }
export interface DnsQuery { id: number; flags: number; question: DnsQuestion; raw: Uint8Array; questionEnd: number }

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const RCODE_OK = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

/**
 * Answers for `name` asked by a container at `sourceIp`: its IPv4 addresses, or null when the
 * name is not the engine's (then upstream decides). The engine's networks model implements it.
 */
export type NameResolver = (name: string, sourceIp: string) => string[] | null | undefined | Promise<string[] | null | undefined>;

/** Upstream lookup of A records; throws an Error with code 'ENOTFOUND' (NXDOMAIN) or anything else (SERVFAIL). */
export type UpstreamResolver = (name: string) => Promise<string[]>;

export function parseQuery(msg: Uint8Array): DnsQuery | null {
  if (msg.length < 12) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  if (flags & 0x8000 || v.getUint16(4) !== 1) return null; // a response, or not exactly one question
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    if (i >= msg.length) return null;
    const len = msg[i++];
    if (len === 0) break;
    if (len > 63 || i + len > msg.length) return null;
    labels.push(new TextDecoder().decode(msg.subarray(i, i + len)));
    i += len;
  }
  if (i + 4 > msg.length) return null;
  return { id: v.getUint16(0), flags, question: { name: labels.join('.').toLowerCase(), type: v.getUint16(i), klass: v.getUint16(i + 2) }, raw: msg, questionEnd: i + 4 };
}

/** A response to `q` with `rcode` and A records for `addrs` (only for an A question). */
export function buildResponse(q: DnsQuery, rcode: number, addrs: string[] = [], ttl = 60): Uint8Array {
  const answers = q.question.type === TYPE_A && rcode === RCODE_OK ? addrs : [];
  const out = new Uint8Array(q.questionEnd + answers.length * 16);
  const v = new DataView(out.buffer);
  out.set(q.raw.subarray(0, q.questionEnd));
  // QR, opcode and RD copied, RA set.
  v.setUint16(2, 0x8000 | (q.flags & 0x7900) | 0x0080 | rcode);
  v.setUint16(6, answers.length);
  v.setUint16(8, 0);
  v.setUint16(10, 0);
  let o = q.questionEnd;
  for (const a of answers) {
    v.setUint16(o, 0xc00c); // name: pointer to the question
    v.setUint16(o + 2, TYPE_A);
    v.setUint16(o + 4, 1);
    v.setUint32(o + 6, ttl);
    v.setUint16(o + 10, 4);
    v.setUint32(o + 12, ipFromString(a));
    o += 16;
  }
  return out;
}

/** The whole server: a query in, a response out (null: not a query worth answering). */
export async function answerQuery(msg: Uint8Array, sourceIp: string, opts: { resolve?: NameResolver; upstream?: UpstreamResolver }): Promise<Uint8Array | null> {
  const q = parseQuery(msg);
  if (!q) return null;
  if (((q.flags >> 11) & 15) !== 0 || q.question.klass !== 1) return buildResponse(q, RCODE_NOTIMP);
  const name = q.question.name.replace(/\.$/, '');
  let addrs: string[] | null = null;
  try {
    addrs = (await opts.resolve?.(name, sourceIp)) ?? null;
  } catch {
    addrs = null;
  }
  if (addrs === null) {
    if (!opts.upstream) return buildResponse(q, RCODE_SERVFAIL);
    try {
      // Other types are answered "no records" for names that exist: clients asking AAAA move on to A.
      addrs = (await opts.upstream(name)).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    } catch (err) {
      const code = (err as { code?: string }).code;
      return buildResponse(q, code === 'ENOTFOUND' || code === 'ENODATA' ? RCODE_NXDOMAIN : RCODE_SERVFAIL);
    }
  }
  if (addrs.length === 0 && q.question.type === TYPE_A) return buildResponse(q, RCODE_NXDOMAIN);
  return buildResponse(q, RCODE_OK, addrs);
}

/** A query for `name`'s A records (id `id`, recursion desired). */
export function buildQuery(id: number, name: string, type = TYPE_A): Uint8Array {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean).map((l) => new TextEncoder().encode(l));
  const out = new Uint8Array(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 5);
  const v = new DataView(out.buffer);
  v.setUint16(0, id);
  v.setUint16(2, 0x0100);
  v.setUint16(4, 1);
  let o = 12;
  for (const l of labels) { out[o++] = l.length; out.set(l, o); o += l.length; }
  out[o++] = 0;
  v.setUint16(o, type);
  v.setUint16(o + 2, 1);
  return out;
}

/** The rcode and A-record addresses of a response (names are skipped, compressed or not). */
export function parseAnswer(msg: Uint8Array): { id: number; rcode: number; addrs: string[] } | null {
  if (msg.length < 12) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const skipName = (o: number): number => {
    while (o < msg.length) {
      const len = msg[o];
      if (len === 0) return o + 1;
      if ((len & 0xc0) === 0xc0) return o + 2;
      o += len + 1;
    }
    return -1;
  };
  let o = 12;
  for (let q = v.getUint16(4); q > 0; q--) { o = skipName(o); if (o < 0) return null; o += 4; }
  const addrs: string[] = [];
  for (let a = v.getUint16(6); a > 0; a--) {
    o = skipName(o);
    if (o < 0 || o + 10 > msg.length) return null;
    const type = v.getUint16(o);
    const len = v.getUint16(o + 8);
    if (o + 10 + len > msg.length) return null;
    if (type === TYPE_A && len === 4) addrs.push(Array.from(msg.subarray(o + 10, o + 14)).join('.'));
    o += 10 + len;
  }
  return { id: v.getUint16(0), rcode: v.getUint16(2) & 15, addrs };
}
