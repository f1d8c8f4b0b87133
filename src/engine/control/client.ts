/**
 * Another process's end of the control channel (Node): each operation is one connection that
 * says hello first and goes on only when the socket answers with the session its record names,
 * so nothing is asked of a process that merely sits at a stale path.
 */
import { createConnection, type Socket } from 'node:net';
import { SkiffError, type SkiffErrorCode } from '../../errors.ts';
import { isStartFailureReason, StartFailure } from '../../runtime/start-failure.ts';
import { STDIN_HIGH_WATER, STDIN_QUEUED_MAX } from '../../runtime/stdin-gate.ts';
import type { ExitStatus, ProcessIO, ResourceStats, RuntimeProcess } from '../../runtime/types.ts';
import {
  CONTROL_VERSION, decodeLogEntry, encodeFrame, encodeJsonFrame, Frame, FrameReader, MAX_PACKET, parseJson,
  type ControlRequest, type ExecSpec, type FrameType, type WindowSize,
} from './protocol.ts';
import { drainOf } from './socket-drain.ts';
import type { LogRecord, Owner, PacketChannel, RemoteOwner } from './types.ts';

/** An owner that accepts the connection but does not say hello in this time is taken as hung. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Relayed packets queued on a socket the owner does not read, before new ones are dropped. */
const MAX_PACKET_BACKLOG = 256 << 10;

type Op = Exclude<ControlRequest, { op: 'hello' }> extends infer R ? (R extends unknown ? Omit<R, 'v' | 'id'> : never) : never;

interface Conversation {
  sock: Socket;
  /** Frames after the request's reply. */
  frames: AsyncIterableIterator<{ type: FrameType; payload: Uint8Array }>;
  send(type: FrameType, payload?: Uint8Array | string): void;
  /** The request's reply (hello's when there was no request). */
  reply: Record<string, unknown>;
}

const CODES = new Set<string>(['NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_ARGUMENT', 'INVALID_ARCHIVE', 'DIGEST_MISMATCH', 'UNSUPPORTED', 'CONFLICT', 'IN_USE', 'STORAGE', 'RUNTIME', 'VM', 'REGISTRY', 'CANCELLED', 'INTERNAL']);

function replyError(v: unknown): SkiffError {
  const r = (typeof v === 'object' && v !== null ? v : {}) as { code?: unknown; message?: unknown; reason?: unknown };
  const code = typeof r.code === 'string' && CODES.has(r.code) ? (r.code as SkiffErrorCode) : 'RUNTIME';
  const message = typeof r.message === 'string' ? r.message.slice(0, 4096) : 'the owning skiff process refused the request';
  return isStartFailureReason(r.reason) ? new StartFailure(r.reason, code, message) : new SkiffError(code, message);
}

/** Frame bytes a conversation holds unread before it stops reading its socket. */
const QUEUE_HIGH = 1 << 20;

/** A queue of frames read from `sock`, ending when it closes; a protocol error ends it with that error. */
function frameQueue(sock: Socket): AsyncIterableIterator<{ type: FrameType; payload: Uint8Array }> {
  const reader = new FrameReader();
  const queue: { type: FrameType; payload: Uint8Array }[] = [];
  let queued = 0;
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  sock.on('data', (c: Buffer) => {
    try {
      for (const f of reader.push(new Uint8Array(c))) {
        queue.push(f);
        queued += f.payload.length;
      }
    } catch (err) {
      failure = err;
      sock.destroy();
    }
    // A reader that does not keep up stops the socket: the owner's writes then wait (an exec's
    // process blocks, runtime/vm/flow.ts) or it drops the client (attach, logs follow).
    if (queued > QUEUE_HIGH) sock.pause();
    wake?.();
  });
  sock.on('close', () => { done = true; wake?.(); });
  const it: AsyncIterableIterator<{ type: FrameType; payload: Uint8Array }> = {
    async next() {
      for (;;) {
        if (queue.length) {
          const f = queue.shift()!;
          queued -= f.payload.length;
          if (sock.isPaused() && queued < QUEUE_HIGH / 4) sock.resume();
          return { value: f, done: false };
        }
        if (failure) throw failure;
        if (done) return { value: undefined, done: true };
        await new Promise<void>((r) => (wake = r));
      }
    },
    [Symbol.asyncIterator]() { return it; },
  };
  return it;
}

async function expectReply(frames: Conversation['frames']): Promise<Record<string, unknown>> {
  const f = await frames.next();
  if (f.done) throw new SkiffError('CONFLICT', 'the skiff process running the container closed the control connection');
  if (f.value.type !== Frame.Reply) throw new SkiffError('RUNTIME', `control channel: expected a reply, got frame type ${f.value.type}`);
  const r = parseJson(f.value.payload, 'reply') as Record<string, unknown>;
  if (r['ok'] !== true) throw replyError(r);
  return r;
}

/**
 * Opens a conversation about container `id` with the owner at `owner.control`: hello answered by
 * `owner.session` (else SkiffError CONFLICT), then `op` answered ok.
 */
async function open(owner: Owner, id: string, op: Op | undefined, helloMs = HELLO_TIMEOUT_MS): Promise<Conversation> {
  const path = owner.control;
  if (!path) throw new SkiffError('CONFLICT', 'the owning process has no control socket');
  const sock = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', (err) => reject(new SkiffError('CONFLICT', `the skiff process running the container does not answer (${err.message})`)));
  });
  sock.on('error', () => {});
  const frames = frameQueue(sock);
  const send = (type: FrameType, payload?: Uint8Array | string) => { if (!sock.destroyed) sock.write(encodeFrame(type, payload)); };
  try {
    sock.write(encodeJsonFrame(Frame.Request, { v: CONTROL_VERSION, op: 'hello', id }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hello = await Promise.race([
      expectReply(frames),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new SkiffError('CONFLICT', `the skiff process running the container did not answer within ${helloMs / 1000} s`)), helloMs); }),
    ]).finally(() => clearTimeout(timer));
    if (hello['session'] !== owner.session || (owner.pid !== undefined && hello['pid'] !== owner.pid)) {
      throw new SkiffError('CONFLICT', `the process at ${path} is not the one that runs container ${id.slice(0, 12)}`);
    }
    if (!op) return { sock, frames, send, reply: hello };
    sock.write(encodeJsonFrame(Frame.Request, { v: CONTROL_VERSION, ...op, id }));
    return { sock, frames, send, reply: await expectReply(frames) };
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

/** Reads frames to the end: the Exit status, or the error the server sent. */
async function untilExit(c: Conversation, onFrame?: (type: FrameType, payload: Uint8Array) => unknown): Promise<ExitStatus | undefined> {
  for await (const f of c.frames) {
    if (f.type === Frame.Exit) return parseJson(f.payload, 'exit status') as ExitStatus;
    if (f.type === Frame.Reply) throw replyError(parseJson(f.payload, 'reply'));
    // A sink that cannot take more yet (ProcessIO's promise): read no further until it can.
    const r = onFrame?.(f.type, f.payload);
    if (r instanceof Promise) await r.catch(() => {});
  }
  return undefined;
}

async function converseProcess(owner: Owner, id: string, op: Op, io: ProcessIO, helloMs: number): Promise<RuntimeProcess> {
  return processOver(await open(owner, id, op, helloMs), io, op.op);
}

/** An exec's or attach's process as the client holds it: frames both ways over the conversation. */
function processOver(c: Conversation, io: ProcessIO, what: string): RuntimeProcess {
  const exited = untilExit(c, (type, payload) => {
    if (type === Frame.Stdout) return io.onStdout(payload);
    if (type === Frame.Stderr) return io.onStderr(payload);
    return undefined;
  }).then((s) => s ?? Promise.reject(new SkiffError('RUNTIME', `${what}: the connection to the skiff process running the container closed`)));
  exited.catch(() => {});
  return {
    // The owner stops reading this socket while the process's stdin is full (stdin-gate.ts): the
    // writer here waits for it to drain in turn.
    writeStdin: (chunk) => {
      if (c.sock.writableLength >= STDIN_QUEUED_MAX) throw new SkiffError('RUNTIME', `${what}: stdin: ${c.sock.writableLength} bytes unsent; the writer must wait for writeStdin's promise`);
      for (let off = 0; off < chunk.length; off += 1 << 20) c.send(Frame.Stdin, chunk.subarray(off, off + (1 << 20)));
      return !c.sock.destroyed && c.sock.writableLength > STDIN_HIGH_WATER ? drainOf(c.sock) : undefined;
    },
    closeStdin: () => c.send(Frame.StdinEnd),
    resize: async (size) => c.send(Frame.Resize, JSON.stringify(size)),
    kill: async (sig) => c.send(Frame.Signal, String(sig)),
    wait: () => exited.finally(() => c.sock.end()),
  };
}

/** Proves the owner (hello), then returns its operations on container `id`. */
export async function connectOwner(owner: Owner, id: string, helloMs = HELLO_TIMEOUT_MS): Promise<RemoteOwner> {
  // A hello alone proves the owner before anything is asked of it.
  (await open(owner, id, undefined, helloMs)).sock.end();
  return {
    async signal(signal) {
      (await open(owner, id, { op: 'signal', signal }, helloMs)).sock.end();
    },
    async resize(size: WindowSize) {
      (await open(owner, id, { op: 'resize', size }, helloMs)).sock.end();
    },
    async wait(ms = Infinity) {
      const c = await open(owner, id, { op: 'wait' }, helloMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<undefined>((r) => { if (ms !== Infinity) timer = setTimeout(() => r(undefined), ms); });
      try {
        return await Promise.race([untilExit(c).catch(() => undefined), timeout]);
      } finally {
        clearTimeout(timer);
        c.sock.destroy();
      }
    },
    exec(spec: ExecSpec, io: ProcessIO): Promise<RuntimeProcess> {
      return converseProcess(owner, id, { op: 'exec', exec: spec }, io, helloMs);
    },
    async attach(io: ProcessIO): Promise<RuntimeProcess & { detach(): void }> {
      const c = await open(owner, id, { op: 'attach' }, helloMs);
      const p = processOver(c, io, 'attach');
      // Closing the connection detaches: the owner stops sending output, the container runs on.
      return { ...p, detach: () => void c.sock.destroy() };
    },
    async freeze(frozen: boolean) {
      (await open(owner, id, { op: 'freeze', frozen }, helloMs)).sock.end();
    },
    async persist() {
      (await open(owner, id, { op: 'persist' }, helloMs)).sock.end();
    },
    async stats() {
      const c = await open(owner, id, { op: 'stats' }, helloMs);
      c.sock.end();
      const stats = c.reply['stats'];
      if (typeof stats !== 'object' || stats === null || typeof (stats as ResourceStats).cpuNs !== 'number') throw new SkiffError('RUNTIME', 'control channel: the stats reply carries no stats');
      return stats as ResourceStats;
    },
    async update(limits) {
      (await open(owner, id, { op: 'update', limits }, helloMs)).sock.end();
    },
    async connect(networkId) {
      (await open(owner, id, { op: 'connect', networkId }, helloMs)).sock.end();
    },
    async disconnect(networkId, ip) {
      (await open(owner, id, { op: 'disconnect', networkId, ip }, helloMs)).sock.end();
    },
    async packets(): Promise<PacketChannel> {
      const c = await open(owner, id, { op: 'packets' }, helloMs);
      // A relay never keeps a CLI process alive once its own containers are done.
      c.sock.unref();
      const closed = new Promise<void>((r) => c.sock.once('close', () => r()));
      return {
        // Packets are datagrams: past a backlog they are dropped and TCP in the guests retransmits.
        send: (p) => {
          if (c.sock.destroyed || c.sock.writableLength > MAX_PACKET_BACKLOG || p.length > MAX_PACKET) return false;
          c.send(Frame.Packet, p);
          return true;
        },
        closed,
        close: () => c.sock.destroy(),
      };
    },
    async logs(onEntry?: (e: LogRecord) => void) {
      const c = await open(owner, id, { op: 'logs', follow: onEntry !== undefined }, helloMs);
      const entries: LogRecord[] = [];
      let caughtUp!: () => void;
      const before = new Promise<void>((r) => (caughtUp = r));
      let sink: (e: LogRecord) => void = (e) => void entries.push(e);
      const done = untilExit(c, (type, payload) => {
        if (type === Frame.Log) sink(decodeLogEntry(payload));
        else if (type === Frame.LogsCaughtUp && onEntry) {
          sink = onEntry;
          caughtUp();
        }
      }).then(() => {}, () => {}).finally(() => caughtUp());
      await (onEntry ? before : done);
      return { entries, done };
    },
  };
}
