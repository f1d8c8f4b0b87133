/**
 * Wire format of the control channel (sans-IO): how another skiff process reaches the containers
 * this process owns. One connection carries one conversation:
 *
 *   client: Request {op:'hello', id}        server: Reply {ok, session, pid}   (proves the owner)
 *   client: Request {op: signal|resize|wait|exec|attach|logs|freeze|stats|update|connect|disconnect, id, ...}
 *   server: Reply {ok:true} (stats: {ok:true, stats}) or {ok:false, code, message}, then per op: Exit / Stdout / Stderr /
 *           Log (follow: LogsCaughtUp after the entries the owner had)
 *   client (exec and attach, after the Reply): Stdin, StdinEnd, Resize, Signal; closing an
 *           attach detaches (the container runs on), closing an exec closes its stdin
 *   client (packets only, after the Reply): Packet frames, until it closes
 *
 * Frames: [type u8][payload length u32 LE][payload]. Requests are JSON checked field by field
 * (unknown fields, wrong types and oversized values are refused): the server trusts nothing a
 * client sends, and one bad frame ends that connection, never the owning process.
 */
import { SkiffError } from '../../errors.ts';
import type { LimitUpdate } from '../../runtime/types.ts';

export const CONTROL_VERSION = 1;
export const FRAME_HEADER = 5;
/** Output and stdin chunks. */
export const MAX_FRAME = 1 << 20;
/** JSON frames (requests, replies, resize): far above any real one. */
export const MAX_JSON_FRAME = 64 << 10;

export const Frame = {
  Request: 1,
  Reply: 2,
  Stdout: 3,
  Stderr: 4,
  Exit: 5,
  Log: 6,
  /** Logs follow: the entries before this one were there already; later ones are new. */
  LogsCaughtUp: 7,
  Stdin: 10,
  StdinEnd: 11,
  Resize: 12,
  Signal: 13,
  /** `packets`: one IPv4 packet for a container of the owner's VM (at most MAX_PACKET bytes). */
  Packet: 20,
} as const;
/** A relayed packet: the guest link's MTU. */
export const MAX_PACKET = 1500;
export type FrameType = (typeof Frame)[keyof typeof Frame];
const KNOWN = new Set<number>(Object.values(Frame));
const JSON_FRAMES = new Set<number>([Frame.Request, Frame.Reply, Frame.Exit, Frame.Resize]);

export interface WindowSize { cols: number; rows: number }

export type ControlRequest =
  | { v: 1; op: 'hello'; id: string }
  | { v: 1; op: 'signal'; id: string; signal: string }
  | { v: 1; op: 'resize'; id: string; size: WindowSize }
  | { v: 1; op: 'wait'; id: string }
  | { v: 1; op: 'logs'; id: string; follow: boolean }
  | { v: 1; op: 'exec'; id: string; exec: ExecSpec }
  /** `docker attach`: output from now on, stdin/resize/signals in, the exit at the end. */
  | { v: 1; op: 'attach'; id: string }
  | { v: 1; op: 'freeze'; id: string; frozen: boolean }
  /** `docker commit` from another process: save the live writable layer so the caller reads it. */
  | { v: 1; op: 'persist'; id: string }
  | { v: 1; op: 'stats'; id: string }
  | { v: 1; op: 'update'; id: string; limits: LimitUpdate }
  /** `network connect` of a running container: the owner plugs in the interface its record now has on `networkId`. */
  | { v: 1; op: 'connect'; id: string; networkId: string }
  /** `network disconnect`: the endpoint is gone from the record, so the caller names its network and address. */
  | { v: 1; op: 'disconnect'; id: string; networkId: string; ip: string }
  /** Cross-VM networking: Packet frames follow, each checked and injected by the owner. */
  | { v: 1; op: 'packets'; id: string };

/** An exec as it crosses the channel: the engine's exec options without the local io. */
export interface ExecSpec {
  cmd: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  openStdin?: boolean;
  consoleSize?: WindowSize;
}

export type ControlReply =
  | { ok: true; session?: string; pid?: number }
  | { ok: false; code: string; message: string };

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(type: FrameType, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof payload === 'string' ? enc.encode(payload) : payload;
  if (body.length > (JSON_FRAMES.has(type) ? MAX_JSON_FRAME : MAX_FRAME)) {
    throw new SkiffError('INVALID_ARGUMENT', `control frame of ${body.length} bytes is over the limit`);
  }
  const out = new Uint8Array(FRAME_HEADER + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, body.length, true);
  out.set(body, FRAME_HEADER);
  return out;
}

export function encodeJsonFrame(type: FrameType, value: unknown): Uint8Array {
  return encodeFrame(type, JSON.stringify(value));
}

/**
 * Splits a byte stream into frames. Throws SkiffError INVALID_ARGUMENT on an unknown type or a
 * length over the limit, before buffering it: a peer cannot make us hold more than one frame.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): { type: FrameType; payload: Uint8Array }[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const out: { type: FrameType; payload: Uint8Array }[] = [];
    while (this.size >= FRAME_HEADER) {
      const head = this.take(FRAME_HEADER, false);
      const type = head[0]!;
      const len = new DataView(head.buffer, head.byteOffset, FRAME_HEADER).getUint32(1, true);
      if (!KNOWN.has(type)) throw new SkiffError('INVALID_ARGUMENT', `control channel: unknown frame type ${type}`);
      if (len > (JSON_FRAMES.has(type) ? MAX_JSON_FRAME : MAX_FRAME)) throw new SkiffError('INVALID_ARGUMENT', `control channel: frame of ${len} bytes is over the limit`);
      if (this.size < FRAME_HEADER + len) break;
      const whole = this.take(FRAME_HEADER + len, true);
      out.push({ type: type as FrameType, payload: whole.subarray(FRAME_HEADER) });
    }
    return out;
  }

  /** The first n bytes, removed from the buffer when `consume`. */
  private take(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (consume) {
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      } else i++;
    }
    if (consume) this.size -= n;
    return out;
  }
}

export function parseJson(payload: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(dec.decode(payload));
  } catch {
    throw new SkiffError('INVALID_ARGUMENT', `control channel: ${what} is not valid JSON`);
  }
}

// ---- strict validation ----

type Obj = Record<string, unknown>;

function object(v: unknown, what: string, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw bad(`${what} has an unknown field "${k}"`);
  return v as Obj;
}

function bad(message: string): SkiffError {
  return new SkiffError('INVALID_ARGUMENT', `control channel: ${message}`);
}

function str(v: unknown, what: string, max = 4096): string {
  if (typeof v !== 'string' || v.length > max || v.includes('\0')) throw bad(`${what} must be a string of at most ${max} characters without NUL`);
  return v;
}

function strings(v: unknown, what: string, maxItems = 4096): string[] {
  if (!Array.isArray(v) || v.length > maxItems) throw bad(`${what} must be an array of at most ${maxItems} strings`);
  return v.map((s, i) => str(s, `${what}[${i}]`, 32 << 10));
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${what} must be true or false`);
  return v;
}

export function parseWindowSize(v: unknown, what = 'window size'): WindowSize {
  const o = object(v, what, ['cols', 'rows']);
  const dim = (x: unknown, name: string): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 65535) throw bad(`${what}.${name} must be an integer from 1 to 65535`);
    return x;
  };
  return { cols: dim(o['cols'], 'cols'), rows: dim(o['rows'], 'rows') };
}

/** A container id as records hold it: 64 hex digits. */
function containerId(v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw bad('id must be a full container id (64 hex digits)');
  return v;
}

function ipv4(v: unknown): string {
  const s = str(v, 'ip', 15);
  if (!/^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/.test(s)) throw bad(`"${s}" is not an IPv4 address`);
  return s;
}

/** A signal name (SIGTERM, TERM, SIGRTMIN+3) or number, as `docker kill -s` takes it. */
function signal(v: unknown): string {
  const s = str(v, 'signal', 16);
  if (!/^(?:\d{1,2}|(?:SIG)?[A-Z][A-Z0-9]{1,9}(?:[+-]\d{1,2})?)$/.test(s)) throw bad(`"${s}" is not a signal`);
  return s;
}

function execSpec(v: unknown): ExecSpec {
  const o = object(v, 'exec', ['cmd', 'env', 'workdir', 'user', 'tty', 'openStdin', 'consoleSize']);
  const cmd = strings(o['cmd'], 'exec.cmd');
  if (cmd.length === 0) throw bad('exec.cmd must name a command');
  return {
    cmd,
    ...(o['env'] !== undefined ? { env: strings(o['env'], 'exec.env') } : {}),
    ...(o['workdir'] !== undefined ? { workdir: str(o['workdir'], 'exec.workdir') } : {}),
    ...(o['user'] !== undefined ? { user: str(o['user'], 'exec.user', 256) } : {}),
    ...(o['tty'] !== undefined ? { tty: bool(o['tty'], 'exec.tty') } : {}),
    ...(o['openStdin'] !== undefined ? { openStdin: bool(o['openStdin'], 'exec.openStdin') } : {}),
    ...(o['consoleSize'] !== undefined ? { consoleSize: parseWindowSize(o['consoleSize'], 'exec.consoleSize') } : {}),
  };
}

const LIMIT_FIELDS = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuQuota', 'cpuPeriod', 'cpuShares', 'pidsLimit'] as const;

function limitUpdate(v: unknown): LimitUpdate {
  const o = object(v, 'limits', LIMIT_FIELDS);
  const out: LimitUpdate = {};
  for (const k of LIMIT_FIELDS) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < -1) throw bad(`limits.${k} must be an integer from -1 up`);
    out[k] = x;
  }
  return out;
}

/** A client's request, checked field by field; throws SkiffError INVALID_ARGUMENT. */
export function parseRequest(v: unknown): ControlRequest {
  const head = object(v, 'request', ['v', 'op', 'id', 'signal', 'size', 'follow', 'exec', 'frozen', 'limits', 'networkId', 'ip']);
  if (head['v'] !== CONTROL_VERSION) throw bad(`request version ${String(head['v'])} is not ${CONTROL_VERSION}`);
  const id = containerId(head['id']);
  const only = (...fields: string[]) => object(v, `${String(head['op'])} request`, ['v', 'op', 'id', ...fields]);
  switch (head['op']) {
    case 'hello': only(); return { v: 1, op: 'hello', id };
    case 'wait': only(); return { v: 1, op: 'wait', id };
    case 'signal': only('signal'); return { v: 1, op: 'signal', id, signal: signal(head['signal']) };
    case 'resize': only('size'); return { v: 1, op: 'resize', id, size: parseWindowSize(head['size']) };
    case 'logs': only('follow'); return { v: 1, op: 'logs', id, follow: head['follow'] === undefined ? false : bool(head['follow'], 'follow') };
    case 'exec': only('exec'); return { v: 1, op: 'exec', id, exec: execSpec(head['exec']) };
    case 'freeze': only('frozen'); return { v: 1, op: 'freeze', id, frozen: bool(head['frozen'], 'frozen') };
    case 'stats': only(); return { v: 1, op: 'stats', id };
    case 'persist': only(); return { v: 1, op: 'persist', id };
    case 'attach': only(); return { v: 1, op: 'attach', id };
    case 'packets': only(); return { v: 1, op: 'packets', id };
    case 'update': only('limits'); return { v: 1, op: 'update', id, limits: limitUpdate(head['limits']) };
    case 'connect': only('networkId'); return { v: 1, op: 'connect', id, networkId: containerId(head['networkId']) };
    case 'disconnect': only('networkId', 'ip'); return { v: 1, op: 'disconnect', id, networkId: containerId(head['networkId']), ip: ipv4(head['ip']) };
    default: throw bad(`unknown op ${JSON.stringify(head['op'])?.slice(0, 40)}`);
  }
}

/** Log entries travel as [stream u8: 1 stdout, 2 stderr][time length u8][time][data]. */
export function encodeLogEntry(e: { time: string; stream: 'stdout' | 'stderr'; data: Uint8Array }): Uint8Array {
  const time = enc.encode(e.time.slice(0, 64));
  const out = new Uint8Array(2 + time.length + e.data.length);
  out[0] = e.stream === 'stdout' ? 1 : 2;
  out[1] = time.length;
  out.set(time, 2);
  out.set(e.data, 2 + time.length);
  return out;
}

export function decodeLogEntry(p: Uint8Array): { time: string; stream: 'stdout' | 'stderr'; data: Uint8Array } {
  if (p.length < 2 || (p[0] !== 1 && p[0] !== 2) || p.length < 2 + p[1]!) throw bad('malformed log frame');
  return { stream: p[0] === 1 ? 'stdout' : 'stderr', time: dec.decode(p.subarray(2, 2 + p[1]!)), data: p.slice(2 + p[1]!) };
}
