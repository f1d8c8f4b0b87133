/**
 * Wisp (v1, MercuryWorkshop's protocol): many TCP/UDP streams over one WebSocket, what browser VMs
 * use for outbound TCP. Written here rather than taken from @mercuryworkshop/wisp-js (LGPL) because
 * the protocol is four packet types and our peer needs only the client's stream half as a Dialer.
 *
 * Packet: type u8, stream id u32 LE, payload. CONNECT (1): stream type u8 (1 TCP, 2 UDP), port
 * u16 LE, host name. DATA (2): bytes. CONTINUE (3): buffer remaining u32 LE (packets the server
 * will still take on that stream; stream 0 at start gives the initial credit). CLOSE (4): reason u8.
 * v1 has no "connected" answer: a refused or unreachable target comes back as CLOSE.
 *
 * Half-close: Wisp (v1, and v2's drafts) has none; CLOSE ends both directions at once. A v2 server
 * sends INFO (5) on stream 0 after its first CONTINUE: version, then extensions (id u8, length
 * u32 LE, metadata). Our relay lists a private extension, SHUTDOWN; a client that answers with an
 * INFO listing it too may send a SHUTDOWN packet on a stream: "no more DATA from me", the relay
 * then half-closes its socket (FIN) and the answer keeps coming until the server closes. Any
 * other relay (v1, or without the extension) never sees it: the stream then stays open after the
 * guest's FIN, as before, so a server that waits for EOF does not answer there.
 */
import type { Duplex, DuplexEvents } from './duplex.ts';
import type { Dialer } from './peer.ts';

export const WISP = { CONNECT: 1, DATA: 2, CONTINUE: 3, CLOSE: 4, INFO: 5, SHUTDOWN: 0xb1 } as const;
/** skiff's private half-close extension (an id outside the ones the Wisp drafts assign). */
export const SHUTDOWN_EXTENSION = 0xb1;

/** An INFO payload: version 2.0 and the given extensions, each without metadata. */
export function infoPayload(extensions: number[]): Uint8Array {
  const p = new Uint8Array(2 + 5 * extensions.length);
  p[0] = 2;
  extensions.forEach((id, i) => { p[2 + 5 * i] = id; });
  return p;
}

/** The extension ids an INFO payload lists (a malformed tail is ignored). */
export function infoExtensions(p: Uint8Array): number[] {
  const ids: number[] = [];
  for (let o = 2; o + 5 <= p.length;) {
    ids.push(p[o]!);
    o += 5 + new DataView(p.buffer, p.byteOffset + o + 1, 4).getUint32(0, true);
  }
  return ids;
}
export const CLOSE_REASON = { VOLUNTARY: 0x02, NETWORK: 0x03, INVALID: 0x41, UNREACHABLE: 0x42, CONNECT_TIMEOUT: 0x43, REFUSED: 0x44, TCP_TIMEOUT: 0x47, BLOCKED: 0x48 } as const;

export interface WispPacket { type: number; stream: number; payload: Uint8Array }

export function encodeWisp(type: number, stream: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, stream, true);
  out.set(payload, 5);
  return out;
}

export function decodeWisp(b: Uint8Array): WispPacket | null {
  if (b.length < 5) return null;
  return { type: b[0], stream: new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(1, true), payload: b.subarray(5) };
}

export function connectPayload(kind: 'tcp' | 'udp', host: string, port: number): Uint8Array {
  const name = new TextEncoder().encode(host);
  const p = new Uint8Array(3 + name.length);
  p[0] = kind === 'tcp' ? 1 : 2;
  new DataView(p.buffer).setUint16(1, port, true);
  p.set(name, 3);
  return p;
}

export const u32le = (n: number) => { const p = new Uint8Array(4); new DataView(p.buffer).setUint32(0, n, true); return p; };
export const readU32le = (p: Uint8Array) => (p.length >= 4 ? new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true) : 0);

/** The few WebSocket members the client uses (the browser's WebSocket fits). */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', cb: (ev: { data?: unknown }) => void): void;
}

interface Stream { events: DuplexEvents; credit: number; waiting: Uint8Array[]; ended: boolean; shutSent: boolean; closed: boolean; wantDrain: boolean }

/** Error codes for a CLOSE reason, as the peer maps them (refused: RST; the rest: unreachable). */
function reasonCode(reason: number): string {
  return reason === CLOSE_REASON.REFUSED ? 'ECONNREFUSED' : reason === CLOSE_REASON.UNREACHABLE || reason === CLOSE_REASON.BLOCKED ? 'EHOSTUNREACH' : 'ECONNRESET';
}

/**
 * A Dialer over one Wisp connection to `url`, opened on first use and again after it dropped.
 * A relay that cannot be reached fails every dial at once (the guest sees "unreachable").
 */
export function wispDialer(url: string, open: (url: string) => WebSocketLike): Dialer {
  let ws: WebSocketLike | null = null;
  let ready: Promise<WebSocketLike> | null = null;
  let initialCredit = 32;
  let nextId = 1;
  /** The relay takes SHUTDOWN (it listed the extension in its INFO, and we answered with ours). */
  let halfClose = false;
  const streams = new Map<number, Stream>();

  const connect = (): Promise<WebSocketLike> => {
    if (ready) return ready;
    ready = new Promise((resolve, reject) => {
      const sock = open(url);
      sock.binaryType = 'arraybuffer';
      let opened = false;
      let gotCredit = false;
      sock.addEventListener('open', () => { opened = true; });
      sock.addEventListener('message', (ev) => {
        const p = decodeWisp(new Uint8Array(ev.data as ArrayBuffer));
        if (!p) return;
        if (p.stream === 0 && p.type === WISP.CONTINUE) {
          initialCredit = readU32le(p.payload) || initialCredit;
          if (!gotCredit) { gotCredit = true; ws = sock; resolve(sock); }
          return;
        }
        if (p.stream === 0 && p.type === WISP.INFO) {
          // A v2 server: answer with ours (a v2 server waits for it), naming the one extension we use.
          const theirs = infoExtensions(p.payload);
          if (theirs.includes(SHUTDOWN_EXTENSION)) {
            sock.send(encodeWisp(WISP.INFO, 0, infoPayload([SHUTDOWN_EXTENSION])));
            halfClose = true;
            for (const [id, s] of streams) flush(id, s); // ends that came before the INFO
          } else sock.send(encodeWisp(WISP.INFO, 0, infoPayload([])));
          return;
        }
        onPacket(p);
      });
      const down = () => {
        ws = null;
        ready = null;
        halfClose = false;
        for (const [id, s] of streams) { streams.delete(id); if (!s.closed) { s.closed = true; s.events.close('ECONNRESET'); } }
        if (!gotCredit) reject(Object.assign(new Error(`the Wisp relay ${url} is unreachable${opened ? ' (no CONTINUE)' : ''}`), { code: 'EHOSTUNREACH' }));
      };
      sock.addEventListener('close', down);
      sock.addEventListener('error', down);
    });
    ready.catch(() => {});
    return ready;
  };

  const onPacket = (p: WispPacket) => {
    const s = streams.get(p.stream);
    if (!s) return;
    if (p.type === WISP.DATA) s.events.data(p.payload.slice());
    else if (p.type === WISP.CONTINUE) {
      s.credit = readU32le(p.payload);
      flush(p.stream, s);
    } else if (p.type === WISP.CLOSE) {
      streams.delete(p.stream);
      s.closed = true;
      const reason = p.payload[0] ?? CLOSE_REASON.VOLUNTARY;
      if (reason === CLOSE_REASON.VOLUNTARY) { s.events.end(); s.events.close(); }
      else s.events.close(reasonCode(reason));
    }
  };

  const flush = (id: number, s: Stream) => {
    while (s.waiting.length && s.credit > 0 && ws) {
      ws.send(encodeWisp(WISP.DATA, id, s.waiting.shift()!));
      s.credit--;
    }
    if (s.wantDrain && !s.waiting.length) { s.wantDrain = false; s.events.drain(); }
    // The FIN goes behind the last byte the stream still owed.
    if (s.ended && !s.shutSent && !s.waiting.length && halfClose && ws) {
      s.shutSent = true;
      ws.send(encodeWisp(WISP.SHUTDOWN, id, new Uint8Array(0)));
    }
  };

  return {
    async tcp(host: string, port: number, events: DuplexEvents): Promise<Duplex> {
      const sock = await connect();
      const id = nextId++;
      const s: Stream = { events, credit: initialCredit, waiting: [], ended: false, shutSent: false, closed: false, wantDrain: false };
      streams.set(id, s);
      sock.send(encodeWisp(WISP.CONNECT, id, connectPayload('tcp', host, port)));
      return {
        write(b) {
          if (s.closed) return false;
          s.waiting.push(b.slice());
          flush(id, s);
          if (s.waiting.length) s.wantDrain = true;
          return !s.wantDrain;
        },
        // A relay with the SHUTDOWN extension half-closes its socket. Without it a CLOSE would drop
        // the answer still coming (a client that shuts its sending side and then reads): the
        // stream stays open until the remote end closes it, or the guest resets it (destroy).
        end() {
          if (s.closed || s.ended) return;
          s.ended = true;
          flush(id, s);
        },
        destroy() {
          if (s.closed) return;
          s.closed = true;
          streams.delete(id);
          ws?.send(encodeWisp(WISP.CLOSE, id, Uint8Array.of(CLOSE_REASON.NETWORK)));
        },
        // The relay paces by credit, not by pause; data keeps coming and the guest's window holds it.
        pause() {},
        resume() {},
      };
    },
  };
}
