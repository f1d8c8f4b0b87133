/**
 * Upstream DNS where the host has no resolver to call (a page): A queries over TCP (RFC 1035's
 * two-byte length prefix) to a nameserver, through whatever Dialer reaches the network (the Wisp
 * relay). One connection per lookup; an unreachable server fails the lookup (SERVFAIL) at once.
 */
import { lateEvents } from './duplex.ts';
import { buildQuery, parseAnswer, RCODE_NXDOMAIN, type UpstreamResolver } from './dns.ts';
import type { Dialer } from './peer.ts';

export function dnsOverTcp(dialer: Dialer, server = { host: '1.1.1.1', port: 53 }, timeoutMs = 5000): UpstreamResolver {
  return (name) => new Promise<string[]>((resolve, reject) => {
    const id = (Math.random() * 0xffff) | 0;
    const q = buildQuery(id, name);
    let buf = new Uint8Array(0);
    let stream: { destroy(): void } | null = null;
    let done = false;
    const ev = lateEvents();
    const over = () => { done = true; clearTimeout(timer); stream?.destroy(); };
    const fail = (code: string, msg: string) => { if (!done) { over(); reject(Object.assign(new Error(`DNS over TCP to ${server.host}: ${msg}`), { code })); } };
    const timer = setTimeout(() => fail('ETIMEOUT', 'no answer'), timeoutMs);
    ev.data = (b) => {
      const next = new Uint8Array(buf.length + b.length);
      next.set(buf);
      next.set(b, buf.length);
      buf = next;
      if (buf.length < 2 || buf.length < 2 + ((buf[0] << 8) | buf[1])) return;
      const a = parseAnswer(buf.subarray(2, 2 + ((buf[0] << 8) | buf[1])));
      if (!a || a.id !== id) return fail('EBADRESP', 'a malformed answer');
      if (a.rcode === RCODE_NXDOMAIN) return fail('ENOTFOUND', `${name} does not exist`);
      if (a.rcode !== 0) return fail('ESERVFAIL', `rcode ${a.rcode}`);
      over();
      resolve(a.addrs);
    };
    ev.close = (err) => fail('ECONNRESET', err ?? 'closed before answering');
    dialer.tcp(server.host, server.port, ev).then((s) => {
      stream = s;
      if (done) return s.destroy();
      const framed = new Uint8Array(2 + q.length);
      framed[0] = q.length >> 8;
      framed[1] = q.length & 255;
      framed.set(q, 2);
      s.write(framed);
    }, (err: { code?: string; message?: string }) => fail(err.code ?? 'ECONNREFUSED', err.message ?? 'unreachable'));
  });
}
