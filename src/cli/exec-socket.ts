/**
 * `skiff exec` into a container another skiff process runs (the VM lives in that process): the
 * owning CLI listens on a unix socket named in the container's record (`runtimeData.execSocket`)
 * and runs each request through its engine. Wire: the client's first line is the JSON request;
 * then frames [type u8][length u32 LE][payload] both ways. Node only.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkiffError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';
import type { ExecOptions } from '../engine/lifecycle.ts';
import type { ExitStatus, ProcessIO } from '../runtime/types.ts';

const enum F { Stdout = 1, Stderr = 2, Exit = 3, Error = 4, Stdin = 10, StdinEnd = 11, Resize = 12, Signal = 13 }

/** What an exec asks of the owning process: the engine's exec options without the local io. */
export type ExecRequest = Omit<ExecOptions, 'io'>;

function frame(type: F, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(5 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, body.length, true);
  out.set(body, 5);
  return out;
}

/** Splits a byte stream into frames. */
function frames(onFrame: (type: F, payload: Uint8Array) => void): (chunk: Uint8Array) => void {
  let buf = new Uint8Array(0);
  return (chunk) => {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    while (buf.length >= 5) {
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(1, true);
      if (buf.length < 5 + len) break;
      onFrame(buf[0] as F, buf.slice(5, 5 + len));
      buf = buf.slice(5 + len);
    }
  };
}

export function execSocketPath(id: string): string {
  return join(tmpdir(), `skiff-exec-${process.pid}-${id.slice(0, 12)}.sock`);
}

/** In the process that runs container `id`: serve exec requests until the returned close(). */
export async function serveExec(engine: Engine, id: string): Promise<() => void> {
  const path = execSocketPath(id);
  rmSync(path, { force: true });
  const server: Server = createServer((sock) => void handle(engine, id, sock));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  // Whoever can connect can run commands in the container: this user only.
  chmodSync(path, 0o600);
  const rec = await engine.inspectContainer({ id });
  await engine.updateContainer({ id, patch: { runtimeData: { ...rec.runtimeData, execSocket: path } } });
  return () => {
    server.close();
    rmSync(path, { force: true });
  };
}

async function handle(engine: Engine, id: string, sock: Socket): Promise<void> {
  const send = (type: F, payload?: Uint8Array | string) => { if (!sock.destroyed) sock.write(frame(type, payload)); };
  // Bytes are queued from the first event: frames may arrive while the exec is being started.
  let head: string | null = '';
  let pending: { type: F; payload: Uint8Array }[] = [];
  let deliver: ((type: F, payload: Uint8Array) => void) | null = null;
  let started: (req: ExecRequest) => void;
  const request = new Promise<ExecRequest>((r) => (started = r));
  const feed = frames((type, payload) => (deliver ? deliver(type, payload) : pending.push({ type, payload })));
  sock.on('data', (chunk: Buffer) => {
    if (head === null) return feed(new Uint8Array(chunk));
    const nl = chunk.indexOf(10);
    if (nl < 0) { head += chunk.toString('utf8'); return; }
    const line = head + chunk.subarray(0, nl).toString('utf8');
    head = null;
    feed(new Uint8Array(chunk.subarray(nl + 1)));
    try {
      started(JSON.parse(line) as ExecRequest);
    } catch {
      send(F.Error, JSON.stringify({ message: 'exec: malformed request', code: 'INVALID_ARGUMENT' }));
      sock.end();
    }
  });
  sock.on('error', () => {});
  const req = await request;
  try {
    const io: ProcessIO = { onStdout: (d) => send(F.Stdout, d), onStderr: (d) => send(F.Stderr, d) };
    const p = await engine.execContainer({ id, ...req, io });
    deliver = (type, payload) => {
      if (type === F.Stdin) p.writeStdin(payload);
      else if (type === F.StdinEnd) p.closeStdin();
      else if (type === F.Resize) void p.resize(JSON.parse(new TextDecoder().decode(payload))).catch(() => {});
      else if (type === F.Signal) void p.kill(new TextDecoder().decode(payload)).catch(() => {});
    };
    for (const f of pending) deliver(f.type, f.payload);
    pending = [];
    const status = await p.wait();
    send(F.Exit, JSON.stringify(status));
  } catch (err) {
    send(F.Error, JSON.stringify({ message: (err as Error).message, code: (err as SkiffError).code }));
  }
  sock.end();
}

export interface RemoteExec {
  writeStdin(c: Uint8Array): void;
  closeStdin(): void;
  resize(size: { cols: number; rows: number }): Promise<void>;
  kill(signal: string): Promise<void>;
  wait(): Promise<ExitStatus>;
}

/** Client side: runs `req` in the container through the owner's socket. */
export function remoteExec(path: string, req: ExecRequest, io: ProcessIO): Promise<RemoteExec> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let settle: (s: ExitStatus) => void;
    let fail: (e: Error) => void;
    const done = new Promise<ExitStatus>((res, rej) => { settle = res; fail = rej; });
    done.catch(() => {});
    sock.once('error', (err) => reject(new SkiffError('CONFLICT', `exec: the skiff process running the container does not answer (${err.message})`)));
    sock.on('connect', () => {
      sock.write(`${JSON.stringify(req)}\n`);
      const send = (type: F, payload?: Uint8Array | string) => { if (!sock.destroyed) sock.write(frame(type, payload)); };
      resolve({
        writeStdin: (c) => send(F.Stdin, c),
        closeStdin: () => send(F.StdinEnd),
        resize: async (s) => send(F.Resize, JSON.stringify(s)),
        kill: async (sig) => send(F.Signal, sig),
        wait: () => done,
      });
    });
    const feed = frames((type, payload) => {
      if (type === F.Stdout) io.onStdout(payload);
      else if (type === F.Stderr) io.onStderr(payload);
      else if (type === F.Exit) settle(JSON.parse(new TextDecoder().decode(payload)) as ExitStatus);
      else if (type === F.Error) {
        const e = JSON.parse(new TextDecoder().decode(payload)) as { message: string; code?: string };
        fail(new SkiffError((e.code as never) ?? 'RUNTIME', e.message));
      }
    });
    sock.on('data', (c: Buffer) => feed(new Uint8Array(c)));
    sock.on('close', () => fail(new SkiffError('RUNTIME', 'exec: the connection to the skiff process running the container closed')));
  });
}
