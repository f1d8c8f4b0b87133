/**
 * Wisp: our client (the page's outbound Dialer) against our relay (what `npm start` serves), and
 * the whole path a container's connection takes in a page: guest frames -> NetPeer -> Wisp ->
 * relay -> a TCP server on loopback, and back. Refusals come back as refusals, a dead relay as
 * "unreachable" at once.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerQuery } from '../../src/net/dns.ts';
import { dnsOverTcp } from '../../src/net/dns-tcp.ts';
import { lateEvents } from '../../src/net/duplex.ts';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/net/frames.ts';
import { wispDialer } from '../../src/net/wisp.ts';
import { startWispRelay } from '../../src/net/wisp-relay-node.ts';
import { GuestSim, settle } from './guest-sim.ts';
import { nodeWebSocket } from './ws-client.ts';

const te = new TextEncoder();
const td = new TextDecoder();
let relay: Awaited<ReturnType<typeof startWispRelay>>;
let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  relay = await startWispRelay();
  echo = createServer((s) => s.on('data', (d) => {
    s.write(Buffer.concat([Buffer.from('echo:'), d]));
    if (d.includes('bye')) s.end();
  }));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
});

afterAll(async () => {
  await relay?.close();
  echo?.close();
});

const until = async (cond: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Wisp', () => {
  it('carries a TCP stream through the relay, with more data than one credit window', async () => {
    const dialer = wispDialer(relay.url, nodeWebSocket);
    const ev = lateEvents();
    const got: Uint8Array[] = [];
    let ended = false;
    ev.data = (b) => got.push(b);
    ev.end = () => { ended = true; };
    const s = await dialer.tcp('127.0.0.1', echoPort, ev);
    let total = 0;
    for (let i = 0; i < 400; i++) { s.write(te.encode(`m${i};`)); total += `m${i};`.length; }
    // Every answer carries an "echo:" prefix: count the bytes without them.
    await until(() => td.decode(Buffer.concat(got)).replaceAll('echo:', '').length >= total);
    const text = td.decode(Buffer.concat(got));
    expect(text.replaceAll('echo:', '')).toBe(Array.from({ length: 400 }, (_, i) => `m${i};`).join(''));
    s.write(te.encode('bye'));
    s.end(); // a half-close: the answer still comes
    await until(() => ended);
    expect(td.decode(got.at(-1))).toMatch(/bye$/);
  });

  it('a half-close reaches the server as its EOF, and the answer it sends after it still arrives', async () => {
    // A server that answers only once its client is done sending (as `sort`, or an upload sink).
    const sizer = createServer((s) => {
      let n = 0;
      s.on('data', (d) => { n += d.length; });
      s.on('end', () => s.end(`got ${n} bytes\n`));
    });
    await new Promise<void>((r) => sizer.listen(0, '127.0.0.1', () => r()));
    try {
      const dialer = wispDialer(relay.url, nodeWebSocket);
      const ev = lateEvents();
      const got: Uint8Array[] = [];
      let ended = false;
      let closeError: string | undefined = 'open';
      ev.data = (b) => got.push(b);
      ev.end = () => { ended = true; };
      ev.close = (e) => { closeError = e; };
      const s = await dialer.tcp('127.0.0.1', (sizer.address() as { port: number }).port, ev);
      // More than one credit window, so the SHUTDOWN has to wait behind queued DATA.
      const chunk = new Uint8Array(1000).fill(7);
      for (let i = 0; i < 300; i++) s.write(chunk);
      s.end();
      await until(() => ended);
      expect(td.decode(Buffer.concat(got))).toBe('got 300000 bytes\n');
      await until(() => closeError !== 'open');
      expect(closeError).toBeUndefined();
    } finally {
      sizer.close();
    }
  });

  it('against a relay without the SHUTDOWN extension (v1) an end sends nothing: the stream stays open for the answer', async () => {
    // A v1 relay: CONTINUE only, no INFO; it records what the client sends.
    const { createServer: httpServer } = await import('node:http');
    const { acceptUpgrade, encodeFrame, FrameReader } = await import('../../src/net/websocket-node.ts');
    const { WISP, encodeWisp, decodeWisp, u32le } = await import('../../src/net/wisp.ts');
    const seen: number[] = [];
    const server = httpServer();
    server.on('upgrade', (req, socket) => {
      if (!acceptUpgrade(req, socket)) return;
      const reader = new FrameReader({
        message: (b) => {
          const p = decodeWisp(b)!;
          seen.push(p.type);
          if (p.type === WISP.CONNECT) socket.write(encodeFrame(encodeWisp(WISP.DATA, p.stream, te.encode('hello'))));
        },
        close: () => socket.end(), ping: () => {}, error: () => socket.destroy(),
      });
      socket.on('data', (c: Buffer) => reader.push(new Uint8Array(c)));
      socket.write(encodeFrame(encodeWisp(WISP.CONTINUE, 0, u32le(32))));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const dialer = wispDialer(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`, nodeWebSocket);
      const ev = lateEvents();
      const got: Uint8Array[] = [];
      ev.data = (b) => got.push(b);
      const s = await dialer.tcp('127.0.0.1', 9, ev);
      s.write(te.encode('x'));
      s.end();
      await until(() => got.length > 0);
      await settle();
      expect(td.decode(got[0])).toBe('hello');
      expect(seen).toEqual([WISP.CONNECT, WISP.DATA]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a refused target closes with "refused"; a dead relay fails the dial at once', async () => {
    const dialer = wispDialer(relay.url, nodeWebSocket);
    const closed: (string | undefined)[] = [];
    const ev = lateEvents();
    ev.close = (e) => closed.push(e);
    await dialer.tcp('127.0.0.1', 1, ev);
    await until(() => closed.length > 0);
    expect(closed).toEqual(['ECONNREFUSED']);
    const dead = wispDialer('ws://127.0.0.1:1/', nodeWebSocket);
    const t0 = Date.now();
    await expect(dead.tcp('127.0.0.1', echoPort, lateEvents())).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a guest connection goes through the peer and the relay to a loopback server', async () => {
    // In a page the relay is the only way out; host-gateway's loopback here is the relay's.
    const g = new GuestSim({ dialer: null, loopback: wispDialer(relay.url, nodeWebSocket) });
    const C = '172.17.0.2';
    g.peer.hostGatewaySources.add(C);
    g.tcp(C, '10.0.2.2', { srcPort: 40001, dstPort: echoPort, flags: TCP_SYN, seq: 100, mss: 1460 });
    await until(() => g.received.some((r) => r.tcp));
    const synAck = g.take().find((r) => r.tcp)!.tcp!;
    expect(synAck.flags).toBe(TCP_SYN | TCP_ACK);
    const ack = (synAck.seq + 1) >>> 0;
    g.tcp(C, '10.0.2.2', { srcPort: 40001, dstPort: echoPort, flags: TCP_ACK | TCP_PSH, seq: 101, ack, payload: te.encode('ping') });
    await until(() => g.received.some((r) => r.tcp && r.tcp.payload.length > 0));
    const data = g.take().map((r) => r.tcp!).filter((t) => t.payload.length);
    expect(td.decode(data[0].payload)).toBe('echo:ping');
    // Without a relay (a page with none configured) outbound fails at once with ICMP.
    const none = new GuestSim({ dialer: null });
    none.tcp(C, '93.184.216.34', { srcPort: 40002, dstPort: 80, flags: TCP_SYN, seq: 1 });
    expect(none.take()[0].icmp).toMatchObject({ type: 3, code: 13 });
    await settle();
  });

  it('resolves names upstream with DNS over TCP through the relay (a page has no resolver of its own)', async () => {
    // A nameserver on loopback speaking DNS over TCP, answering from a table.
    const table: Record<string, string[]> = { 'example.test': ['192.0.2.80'] };
    const ns = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', async (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const r = await answerQuery(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))), '', {
          upstream: async (n) => { if (table[n]) return table[n]; throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' }); },
        });
        const len = Buffer.alloc(2);
        len.writeUInt16BE(r!.length);
        s.end(Buffer.concat([len, r!]));
      });
    });
    await new Promise<void>((r) => ns.listen(0, '127.0.0.1', () => r()));
    try {
      const upstream = dnsOverTcp(wispDialer(relay.url, nodeWebSocket), { host: '127.0.0.1', port: (ns.address() as { port: number }).port });
      expect(await upstream('example.test')).toEqual(['192.0.2.80']);
      await expect(upstream('missing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
      const dead = dnsOverTcp(wispDialer('ws://127.0.0.1:1/', nodeWebSocket));
      await expect(dead('example.test')).rejects.toBeTruthy();
    } finally {
      ns.close();
    }
  });
});
