/**
 * A container attached to this Node process's terminal: the engine (and its VM) lives in this
 * process, so a container runs while the command that started it runs. `-d` (and `start` without
 * `-a`) hand the container to a background skiff process that holds it (`skiff __hold <id>`,
 * detached, output kept as logs); `stop`, `kill`, `wait`, `exec` and `logs` from other processes
 * reach it through the engine's control channel (engine/control).
 */
import { spawn, spawnSync } from 'node:child_process';
import { SkiffError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';
import { ExitStatusError } from './commands/context.ts';
import { startFailed } from './commands/run.ts';
import { displayText } from './present/escape.ts';
import type { CreateContainerOptions } from '../engine/containers.ts';
import type { ExitStatus, ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import type { CliIO } from './io.ts';
import { ContainerOutput } from './output.ts';
import { DetachScanner } from '../util/detach-keys.ts';
import { writeFrom } from '../runtime/stdin-gate.ts';

type Stdin = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => void };
type Stdout = CliIO['stdout'] & { rows?: number };

export const PROXIED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
export const BROKEN_PIPE_STATUS = 141;

export function fail(status: number, err: unknown): ExitStatusError {
  return new ExitStatusError(status, displayText(err instanceof Error ? err.message : String(err), { multiline: true }));
}


export interface AttachTarget {
  /** A promise: stop reading the terminal until it settles (RuntimeProcess.writeStdin). */
  writeStdin(c: Uint8Array): void | Promise<void>;
  closeStdin(): void;
  resize(s: { cols: number; rows: number }): Promise<void>;
  kill(sig: string): Promise<void>;
}

/**
 * Turns our terminal's output processing off for a container with a TTY, as Docker's raw mode
 * (cfmakeraw) does, before its first byte: the container's pty already ends lines with CR LF, and
 * Node's raw mode (libuv) keeps ONLCR, so lines reached the screen as CR CR LF and a bare LF that
 * a full-screen program sends to move down one line (its pty set -onlcr) became CR LF, which also
 * moved the cursor to column 0. Returns what puts the terminal's settings back as they were (also
 * run if the process exits first). stty works on our stdout; without stty (no Linux or BSD
 * userland) or without a TTY nothing changes.
 */
export function rawTerminalOutput(io: CliIO, tty: boolean): () => void {
  if (!tty || !(io.stdout as Stdout).isTTY) return () => {};
  const saved = spawnSync('stty', ['-g'], { stdio: [1, 'pipe', 'ignore'], timeout: 2000 });
  const settings = saved.status === 0 ? saved.stdout.toString().trim() : '';
  if (!/^[0-9a-fA-F:]+$/.test(settings)) return () => {};
  spawnSync('stty', ['-opost'], { stdio: [1, 'ignore', 'ignore'], timeout: 2000 });
  let done = false;
  const restore = (): void => {
    if (done) return;
    done = true;
    process.off('exit', restore);
    spawnSync('stty', [settings], { stdio: [1, 'ignore', 'ignore'], timeout: 2000 });
  };
  process.on('exit', restore);
  return restore;
}

/**
 * Wires this terminal to a running container: stdin (raw with a TTY), window size on SIGWINCH,
 * and signals this process gets passed to the container. Returns the cleanup.
 */
export function wireTerminal(io: CliIO, target: AttachTarget, o: { tty: boolean; interactive: boolean; proxySignals?: boolean }): () => void {
  const stdin = io.stdin as Stdin;
  const stdout = io.stdout as Stdout;
  const undo: (() => void)[] = [];
  if (o.interactive) {
    if (o.tty && stdin.isTTY && stdin.setRawMode) {
      stdin.setRawMode(true);
      undo.push(() => stdin.setRawMode!(false));
    }
    // While the container's stdin is full, this terminal's input is not read (stdin-gate.ts); a
    // drain after the unwiring must not start reading again (it would keep this process alive).
    let wired = true;
    const source = { pause: () => stdin.pause(), resume: () => { if (wired) stdin.resume(); } };
    const onData = (c: Buffer | string) => writeFrom(source, () => target.writeStdin(typeof c === 'string' ? new TextEncoder().encode(c) : new Uint8Array(c)));
    const onEnd = () => target.closeStdin();
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
    undo.push(() => { wired = false; stdin.off('data', onData); stdin.off('end', onEnd); stdin.pause(); });
  }
  if (o.tty && stdout.isTTY) {
    const onWinch = () => void target.resize({ cols: stdout.columns ?? 80, rows: stdout.rows ?? 24 }).catch(() => {});
    process.on('SIGWINCH', onWinch);
    undo.push(() => process.off('SIGWINCH', onWinch));
  }
  // Ctrl-C on a raw TTY is a byte for the container; without a TTY it is SIGINT, passed on.
  // A PID 1 without handlers ignores SIGINT/SIGTERM: the third one kills it (Docker's CLI does so).
  let interrupts = 0;
  for (const sig of o.proxySignals === false ? [] : o.tty ? PROXIED : ['SIGINT' as const, ...PROXIED]) {
    const h = () => {
      if ((sig === 'SIGINT' || sig === 'SIGTERM') && ++interrupts >= 3) {
        io.stderr.write('skiff: got 3 interrupts, killing the container\n');
        void target.kill('SIGKILL').catch(() => {});
        return;
      }
      void target.kill(sig).catch(() => {});
    };
    process.on(sig, h);
    undo.push(() => process.off(sig, h));
  }
  return () => { for (const u of undo.reverse()) u(); };
}

export function consoleSize(io: CliIO): { cols: number; rows: number } | undefined {
  const s = io.stdout as Stdout;
  return s.isTTY ? { cols: s.columns ?? 80, rows: s.rows ?? 24 } : undefined;
}

type Started = (p: RuntimeProcess) => void;

/**
 * A container process attached to this terminal until it exits; returns its exit status. When
 * the reader of our output goes away (EPIPE), the container is killed (its `--rm` still
 * applies) and the status is 141, with nothing printed, as for any writer in a broken pipe.
 * `start` begins the process with our output sink and calls `started` once it runs.
 */
export async function attachToTerminal(io: CliIO, o: { tty: boolean; interactive: boolean }, start: (sink: ProcessIO, size: { cols: number; rows: number } | undefined, started: Started) => Promise<ExitStatus>): Promise<number> {
  const output = new ContainerOutput(io.stdout, io.stderr);
  let unwire = (): void => {};
  const restoreTerminal = rawTerminalOutput(io, o.tty);
  try {
    const exit = await start(output.io(), o.tty ? consoleSize(io) : undefined, (p) => {
      output.onBroken = () => void p.kill('SIGKILL').catch(() => {});
      unwire = wireTerminal(io, {
        writeStdin: (c) => p.writeStdin(c), closeStdin: () => p.closeStdin(), resize: (s) => p.resize(s), kill: (sig) => p.kill(sig),
      }, o);
    });
    if (output.broken) return BROKEN_PIPE_STATUS;
    if (exit.error && exit.exitCode >= 125) io.stderr.write(`skiff: ${displayText(exit.error, { multiline: true })}\n`);
    return exit.exitCode;
  } finally {
    unwire();
    output.close();
    restoreTerminal();
  }
}

/** `skiff start -a`: a created container started and attached to this terminal. */
export function startAttached(io: CliIO, engine: Engine, id: string, o: { tty: boolean; interactive: boolean }): Promise<number> {
  return attachToTerminal(io, o, async (sink, size, started) => {
    const p = await engine.startContainer({ id, io: sink, ...(size ? { consoleSize: size } : {}) }).catch((err: unknown) => { throw startFailed(err); });
    started(p);
    return p.wait();
  });
}

/**
 * `skiff run` in this terminal through the engine's one run (Engine.runContainer: create, start,
 * wait, `--rm`); this process adds the terminal (stdin, size, signals) once it runs. A failure
 * before the container exists is skiff's (125); one at start is 126/127 as the runtime says.
 */
export function runInTerminal(io: CliIO, engine: Engine, create: CreateContainerOptions): Promise<number> {
  let created = false;
  return attachToTerminal(io, { tty: create.tty === true, interactive: create.openStdin === true }, async (sink, size, started) => {
    try {
      const r = await engine.runContainer({
        ...create, io: sink, ...(size ? { consoleSize: size } : {}),
        onCreated: () => { created = true; },
        onStarted: ({ process: p }) => started(p),
      });
      return r.exit;
    } catch (err) {
      throw created ? startFailed(err) : fail(125, err);
    }
  });
}

/**
 * `skiff attach`: a running container (run here or by another skiff process, reached through its
 * control channel) attached to this terminal: its output from now on, this terminal's stdin (raw
 * with a TTY) and size, signals passed on (`--sig-proxy`), until it exits (its status is ours) or
 * the detach keys are typed (0; it runs on). As Docker without `--stdin-once`, the end of our
 * stdin leaves the container's open.
 */
export async function attachRunning(io: CliIO, engine: Engine, id: string, o: { stdin: boolean; sigProxy: boolean; detachKeys: Uint8Array }): Promise<number> {
  const rec = await engine.inspectContainer({ id });
  if (rec.state !== 'running' && rec.state !== 'paused') throw fail(1, 'You cannot attach to a stopped container, start it first');
  const tty = rec.spec.tty;
  const interactive = o.stdin && rec.spec.openStdin;
  if (interactive && tty && !(io.stdin as Stdin).isTTY) throw fail(1, 'the input device is not a TTY');
  const output = new ContainerOutput(io.stdout, io.stderr);
  const restoreTerminal = rawTerminalOutput(io, tty);
  let p;
  try {
    p = await engine.attachContainer({ id: rec.id, io: output.io() });
  } catch (err) {
    restoreTerminal();
    throw err;
  }
  let detach!: () => void;
  const detached = new Promise<'detached'>((r) => (detach = () => { p.detach(); r('detached'); }));
  output.onBroken = detach;
  const scanner = new DetachScanner(o.detachKeys);
  const unwire = wireTerminal(io, {
    writeStdin: (c) => {
      const s = scanner.push(c);
      const wait = s.data.length ? p.writeStdin(s.data) : undefined;
      if (s.detached) detach();
      return wait;
    },
    closeStdin: () => {},
    resize: (s) => p.resize(s),
    kill: (sig) => p.kill(sig),
  }, { tty, interactive, proxySignals: o.sigProxy && !tty });
  const size = tty ? consoleSize(io) : undefined;
  if (size) void p.resize(size).catch(() => {});
  try {
    const r = await Promise.race([p.wait(), detached]);
    if (r === 'detached') return output.broken ? BROKEN_PIPE_STATUS : 0;
    if (output.broken) return BROKEN_PIPE_STATUS;
    return r.exitCode;
  } finally {
    unwire();
    output.close();
    restoreTerminal();
  }
}

/** Hands the container to a detached `skiff __hold` process; resolves once it runs (or failed). */
export async function startDetached(engine: Engine, id: string): Promise<void> {
  const bin = process.argv[1];
  if (!bin) throw new SkiffError('UNSUPPORTED', 'cannot find the skiff command to start a background process');
  // The IPC channel carries one message back: why the start failed, for a --rm container whose
  // record (and the error in it) is gone with it.
  const child = spawn(process.execPath, [...process.execArgv, bin, '__hold', id], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: process.env });
  child.unref();
  let told: { code: number; message: string } | undefined;
  child.on('message', (m: { code?: unknown; message?: unknown }) => {
    if (typeof m?.code === 'number' && typeof m.message === 'string') told = { code: m.code, message: m.message };
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await watchStart(engine, id, child, exited, () => told);
  } finally {
    if (child.connected) child.disconnect();
  }
}

async function watchStart(engine: Engine, id: string, child: ReturnType<typeof spawn>, exited: Promise<void>, told: () => { code: number; message: string } | undefined): Promise<void> {
  const t0 = Date.now();
  const was = await engine.inspectContainer({ id });
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const rec = await engine.inspectContainer({ id }).catch(async (err: unknown) => {
      if (!(err instanceof SkiffError && err.code === 'NOT_FOUND')) throw err;
      // Removed (--rm): after a failed start the holder says why before it exits; else it ran and ended.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      const t = told();
      if (t) throw fail(t.code, t.message);
      return undefined;
    });
    if (!rec) return;
    // This start's doing, not the state of an earlier run (restart of an exited container).
    if (rec.state === 'running' && rec.startedAt !== was.startedAt) return;
    if (rec.state === 'exited' && rec.finishedAt !== was.finishedAt) {
      // Exited without having started (a port in use, no such command): the start failed, and
      // `run -d` says so with the start's error and status, as the foreground run does.
      if (rec.startedAt === was.startedAt && rec.exit?.error) throw fail(rec.exitCode || 125, `starting container ${rec.name}: ${rec.exit.error}`);
      return;
    }
    if (child.exitCode !== null && child.exitCode !== 0) throw fail(125, `the background skiff process exited with ${child.exitCode}`);
    if (Date.now() - t0 > 180_000) throw fail(125, `container ${id.slice(0, 12)} did not start within 180 s`);
  }
}
