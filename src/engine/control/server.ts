/**
 * The owning process's end of the control channel (Node): one unix socket per process, serving
 * every container its engine runs. Whatever a client sends is checked (protocol.ts); a bad frame,
 * an unknown container or a failing operation ends that one connection with an error reply and
 * never reaches the process's other work. Who may connect is settled by the socket's directory
 * (mode 0700, see node.ts), not here.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SkiffError } from '../../errors.ts';
import { startFailureReason } from '../../runtime/start-failure.ts';
import type { ProcessIO, RuntimeProcess } from '../../runtime/types.ts';
import {
  encodeFrame, encodeJsonFrame, encodeLogEntry, Frame, FrameReader, MAX_FRAME, MAX_PACKET, parseJson, parseRequest, parseWindowSize,
  type ControlRequest, type FrameType,
} from './protocol.ts';
import { drainOf } from './socket-drain.ts';
import type { ControlTarget } from './types.ts';

/** Stdin that arrives while an exec is still starting is queued up to this much, then refused. */
const MAX_EARLY_BYTES = 4 << 20;
const MAX_CONNECTIONS = 128;
/** Log output queued for a follower that is not reading. */
const MAX_FOLLOW_BACKLOG = 16 << 20;
/** Output bytes an exec's client may have unread before the exec's sink waits (ProcessIO backpressure). */
const EXEC_BACKLOG = 1 << 20;

export interface ServerIdentity { session: string; pid: number }

export async function listenControl(path: string, target: ControlTarget, who: ServerIdentity): Promise<Server> {
  const server = createServer((sock) => void converse(sock, target, who));
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => { server.off('error', reject); resolve(); }));
  server.on('error', () => {});
  // A listening socket must not keep a CLI alive once its containers are done.
  server.unref();
  return server;
}

function errorReply(err: unknown): { ok: false; code: string; message: string; reason?: string } {
  const e = err instanceof SkiffError ? err : SkiffError.wrap(err, 'control');
  // An exec that could not start keeps its reason: the client's exit status is 126/127 too.
  const reason = startFailureReason(err);
  return { ok: false, code: e.code, message: e.message, ...(reason ? { reason } : {}) };
}

async function converse(sock: Socket, target: ControlTarget, who: ServerIdentity): Promise<void> {
  sock.on('error', () => {});
  const reader = new FrameReader();
  let onFrame: (type: FrameType, payload: Uint8Array) => unknown;
  let ended = false;
  const send = (type: FrameType, payload?: Uint8Array | string) => { if (!sock.destroyed && !ended) sock.write(encodeFrame(type, payload)); };
  const finish = (err?: unknown) => {
    if (ended) return;
    if (err !== undefined && !sock.destroyed) sock.write(encodeJsonFrame(Frame.Reply, errorReply(err)));
    ended = true;
    sock.end();
  };
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.on('data', (chunk: Buffer) => {
    if (ended) return;
    try {
      for (const f of reader.push(new Uint8Array(chunk))) {
        // A process whose stdin is full (writeStdin's promise): read no more of this client till it drains.
        const wait = onFrame(f.type, f.payload);
        if (wait instanceof Promise) {
          sock.pause();
          void wait.then(() => sock.resume(), () => sock.resume());
        }
      }
    } catch (err) {
      finish(err);
    }
  });

  // hello, then one request.
  const requests: ControlRequest[] = [];
  let wake: (() => void) | undefined;
  // Frames after the request (an exec's stdin may share a chunk with it) wait for the exec.
  const after: { type: FrameType; payload: Uint8Array }[] = [];
  let afterBytes = 0;
  onFrame = (type, payload) => {
    if (requests.length >= 2) {
      afterBytes += payload.length;
      if (afterBytes > MAX_EARLY_BYTES) throw new SkiffError('INVALID_ARGUMENT', 'control channel: too much input before the exec started');
      after.push({ type, payload });
      return;
    }
    if (type !== Frame.Request) throw new SkiffError('INVALID_ARGUMENT', 'control channel: expected a request');
    const req = parseRequest(parseJson(payload, 'request'));
    if (requests.length === 0 && req.op !== 'hello') throw new SkiffError('INVALID_ARGUMENT', 'control channel: say hello first');
    if (requests.length === 1 && req.id !== requests[0]!.id) throw new SkiffError('CONFLICT', 'control channel: a request names another container than its hello');
    requests.push(req);
    wake?.();
  };
  const next = async (): Promise<ControlRequest | undefined> => {
    while (requests.length < 2 && !ended && !sock.destroyed) await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    return ended || sock.destroyed ? undefined : requests[1];
  };

  try {
    // Requests are handled one at a time, so a pipelined request waits for hello's reply.
    while (requests.length === 0 && !ended && !sock.destroyed) await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    const hello = requests[0];
    if (!hello) return;
    if (!target.owns(hello.id)) throw new SkiffError('CONFLICT', `container ${hello.id.slice(0, 12)} is not run by this process`);
    send(Frame.Reply, JSON.stringify({ ok: true, session: who.session, pid: who.pid }));
    const req = await next();
    if (!req) return;
    if (!target.owns(req.id)) throw new SkiffError('CONFLICT', `container ${req.id.slice(0, 12)} is not run by this process`);
    switch (req.op) {
      case 'hello':
        throw new SkiffError('INVALID_ARGUMENT', 'control channel: hello twice');
      case 'signal':
        await target.signal(req.id, req.signal);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'resize':
        await target.resize(req.id, req.size);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'wait': {
        send(Frame.Reply, '{"ok":true}');
        const status = await Promise.race([target.wait(req.id), closed]);
        if (status) send(Frame.Exit, JSON.stringify(status));
        return finish();
      }
      case 'logs': {
        const sendEntry = (e: { time: string; stream: 'stdout' | 'stderr'; data: Uint8Array }) => {
          // A follower that does not read is dropped rather than buffered without end.
          if (sock.writableLength > MAX_FOLLOW_BACKLOG) return finish(new SkiffError('CANCELLED', 'control channel: the log follower does not keep up'));
          for (let off = 0; off < e.data.length || off === 0; off += MAX_FRAME - 128) {
            send(Frame.Log, encodeLogEntry({ ...e, data: e.data.subarray(off, off + MAX_FRAME - 128) }));
            if (e.data.length === 0) break;
          }
        };
        const { entries, unsubscribe } = target.logs(req.id, req.follow ? sendEntry : undefined);
        send(Frame.Reply, '{"ok":true}');
        for (const e of entries) sendEntry(e);
        if (req.follow) send(Frame.LogsCaughtUp);
        if (req.follow) await Promise.race([target.wait(req.id).catch(() => {}), closed]);
        unsubscribe();
        return finish();
      }
      case 'freeze':
        await target.freeze(req.id, req.frozen);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'persist':
        await target.persist(req.id);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'stats':
        send(Frame.Reply, JSON.stringify({ ok: true, stats: await target.stats(req.id) }));
        return finish();
      case 'update':
        await target.update(req.id, req.limits);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'connect':
        await target.connect(req.id, req.networkId);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'disconnect':
        await target.disconnect(req.id, req.networkId, req.ip);
        send(Frame.Reply, '{"ok":true}');
        return finish();
      case 'packets': {
        const deliver = target.packet;
        if (!deliver) throw new SkiffError('UNSUPPORTED', 'this skiff process relays no packets');
        send(Frame.Reply, '{"ok":true}');
        // Another VM's relay into ours must not keep this process alive after its containers ended.
        sock.unref();
        const id = req.id;
        const take = (type: FrameType, payload: Uint8Array) => {
          if (type !== Frame.Packet || payload.length > MAX_PACKET || payload.length < 20) throw new SkiffError('INVALID_ARGUMENT', 'control channel: only packets of 20 to 1500 bytes here');
          // The container may have stopped: the connection ends, the sender reconnects to whoever runs its target.
          if (!target.owns(id)) throw new SkiffError('CONFLICT', `container ${id.slice(0, 12)} is not run by this process`);
          deliver.call(target, id, payload.slice());
        };
        for (const f of after.splice(0)) take(f.type, f.payload);
        onFrame = take;
        await closed;
        return finish();
      }
      case 'exec': {
        // A client that does not read holds its exec back, as `docker exec` does: once its
        // backlog is past EXEC_BACKLOG, the output sink waits for the socket to drain.
        const drained = () => (sock.writableLength > EXEC_BACKLOG ? drainOf(sock) : undefined);
        return await serveProcess(req.id, (io) => target.exec(req.id, req.exec, io), (p) => p.closeStdin(), send, finish, closed, after, (h) => (onFrame = h), undefined, drained);
      }
      case 'attach': {
        // An attacher that does not read is dropped (detached), never buffered without end.
        const bounded = () => sock.writableLength > MAX_FOLLOW_BACKLOG;
        return await serveProcess(req.id, (io) => target.attach(req.id, io), (p) => p.detach(), send, finish, closed, after, (h) => (onFrame = h), bounded);
      }
    }
  } catch (err) {
    finish(err);
  }
}

/**
 * An exec or an attach: the process's output to the client, the client's stdin, resizes and
 * signals to the process, its exit status at the end. When the client goes away, `gone` (an
 * exec's stdin closes; an attach detaches). `tooSlow`: the client is dropped (attach).
 */
async function serveProcess<P extends RuntimeProcess>(
  id: string, start: (io: ProcessIO) => Promise<P>, gone: (p: P) => void,
  send: (type: FrameType, payload?: Uint8Array | string) => void, finish: (err?: unknown) => void, closed: Promise<void>,
  early: { type: FrameType; payload: Uint8Array }[],
  setHandler: (h: (type: FrameType, payload: Uint8Array) => unknown) => void,
  tooSlow?: () => boolean,
  drained?: () => Promise<void> | undefined,
): Promise<void> {
  // Client frames may come before the process exists: queued (bounded) until it does.
  let earlyBytes = early.reduce((n, f) => n + f.payload.length, 0);
  let proc: RuntimeProcess | undefined;
  const deliver = (p: RuntimeProcess, type: FrameType, payload: Uint8Array) => {
    if (type === Frame.Stdin) return p.writeStdin(payload);
    else if (type === Frame.StdinEnd) p.closeStdin();
    else if (type === Frame.Resize) void p.resize(parseWindowSize(parseJson(payload, 'resize'))).catch(() => {});
    else if (type === Frame.Signal) {
      const sig = parseRequest({ v: 1, op: 'signal', id, signal: new TextDecoder().decode(payload) });
      void p.kill((sig as { signal: string }).signal).catch(() => {});
    } else throw new SkiffError('INVALID_ARGUMENT', `control channel: frame type ${type} has no place in an exec or attach`);
  };
  setHandler((type, payload) => {
    if (proc) return deliver(proc, type, payload);
    earlyBytes += payload.length;
    if (earlyBytes > MAX_EARLY_BYTES) throw new SkiffError('INVALID_ARGUMENT', 'control channel: too much input before the exec started');
    early.push({ type, payload });
  });
  // Output may come before exec() returns: it follows the reply, in order.
  let held: { type: FrameType; d: Uint8Array }[] | null = [];
  let dropped = false;
  const chunked = (type: FrameType) => (d: Uint8Array) => {
    if (dropped) return;
    if (!held && tooSlow?.()) {
      dropped = true;
      return finish(new SkiffError('CANCELLED', 'control channel: the attached client does not keep up'));
    }
    for (let off = 0; off < d.length; off += MAX_FRAME) {
      if (held) held.push({ type, d: d.slice(off, off + MAX_FRAME) });
      else send(type, d.subarray(off, off + MAX_FRAME));
    }
    return held ? undefined : drained?.();
  };
  const p = await start({ onStdout: chunked(Frame.Stdout), onStderr: chunked(Frame.Stderr) });
  send(Frame.Reply, '{"ok":true}');
  for (const h of held) send(h.type, h.d);
  held = null;
  try {
    for (const f of early) deliver(p, f.type, f.payload);
  } catch (err) {
    finish(err);
  }
  early.length = 0;
  proc = p;
  // A client that goes away: an exec runs to its end (stdin closed), an attached container runs on.
  void closed.then(() => gone(p));
  const status = await Promise.race([p.wait(), closed.then(() => undefined)]);
  if (!status) return finish();
  send(Frame.Exit, JSON.stringify(status));
  finish();
}
