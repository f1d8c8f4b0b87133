/**
 * Commands that run things: run, start, attach, exec, logs, stop, kill, wait, restart. The engine
 * (and its VM) lives in this process: a container runs while the command that started it runs.
 * `-d` (and `start` without `-a`) hand the container to a background skiff process that holds it
 * (`skiff __hold <id>`, detached, output kept as logs); `stop`, `kill`, `wait`, `exec` and `logs`
 * from other processes reach it through the engine's control channel (engine/control).
 * Exit status: the container's; 125 when skiff itself fails, 126/127 as Docker for a command that
 * cannot be run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SkiffError, isSkiffError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';
import { startFailureExitCode } from '../../engine/owner.ts';
import { parseRunFlags, type RunFlags } from '../../runtime/spec/options.ts';
import type { ProcessIO } from '../../runtime/types.ts';
import { collectOpt, out, type CliIO } from '../io.ts';

/** Thrown to end the command with this exit status (main.ts returns it). */
export class ExitStatusError extends Error {
  constructor(readonly status: number, message = '') {
    super(message);
  }
}

function fail(status: number, err: unknown): ExitStatusError {
  return new ExitStatusError(status, err instanceof Error ? err.message : String(err));
}

async function startFailure(err: unknown): Promise<ExitStatusError> {
  return fail(startFailureExitCode(err), err);
}

function outputTo(io: CliIO): ProcessIO {
  return {
    onStdout: (c) => void io.stdout.write(c),
    onStderr: (c) => void (io.stderr as NodeJS.WritableStream).write(c),
  };
}

type Stdin = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => void };
type Stdout = CliIO['stdout'] & { rows?: number };

const PROXIED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Wires this terminal to a running container: stdin (raw with a TTY), window size on SIGWINCH,
 * and signals this process gets passed to the container. Returns the cleanup.
 */
function wireTerminal(io: CliIO, target: {
  writeStdin(c: Uint8Array): void; closeStdin(): void; resize(s: { cols: number; rows: number }): Promise<void>; kill(sig: string): Promise<void>;
}, o: { tty: boolean; interactive: boolean }): () => void {
  const stdin = io.stdin as Stdin;
  const stdout = io.stdout as Stdout;
  const undo: (() => void)[] = [];
  if (o.interactive) {
    if (o.tty && stdin.isTTY && stdin.setRawMode) {
      stdin.setRawMode(true);
      undo.push(() => stdin.setRawMode!(false));
    }
    const onData = (c: Buffer | string) => target.writeStdin(typeof c === 'string' ? new TextEncoder().encode(c) : new Uint8Array(c));
    const onEnd = () => target.closeStdin();
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
    undo.push(() => { stdin.off('data', onData); stdin.off('end', onEnd); stdin.pause(); });
  }
  if (o.tty && stdout.isTTY) {
    const onWinch = () => void target.resize({ cols: stdout.columns ?? 80, rows: stdout.rows ?? 24 }).catch(() => {});
    process.on('SIGWINCH', onWinch);
    undo.push(() => process.off('SIGWINCH', onWinch));
  }
  // Ctrl-C on a raw TTY is a byte for the container; without a TTY it is SIGINT, passed on.
  // A PID 1 without handlers ignores SIGINT/SIGTERM: the third one kills it (Docker's CLI does so).
  let interrupts = 0;
  for (const sig of o.tty ? PROXIED : ['SIGINT' as const, ...PROXIED]) {
    const h = () => {
      if ((sig === 'SIGINT' || sig === 'SIGTERM') && ++interrupts >= 3) {
        (io.stderr as NodeJS.WritableStream).write('skiff: got 3 interrupts, killing the container\n');
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

function consoleSize(io: CliIO): { cols: number; rows: number } | undefined {
  const s = io.stdout as Stdout;
  return s.isTTY ? { cols: s.columns ?? 80, rows: s.rows ?? 24 } : undefined;
}

/** Runs the container attached to this terminal until it exits; returns its exit status. */
async function runAttached(io: CliIO, engine: Engine, id: string, o: { tty: boolean; interactive: boolean }): Promise<number> {
  const size = o.tty ? consoleSize(io) : undefined;
  let proc;
  try {
    proc = await engine.startContainer({ id, io: outputTo(io), ...(size ? { consoleSize: size } : {}) });
  } catch (err) {
    throw await startFailure(err);
  }
  const p = proc;
  const unwire = wireTerminal(io, {
    writeStdin: (c) => p.writeStdin(c), closeStdin: () => p.closeStdin(), resize: (s) => p.resize(s), kill: (sig) => p.kill(sig),
  }, o);
  try {
    const exit = await p.wait();
    if (exit.error && exit.exitCode >= 125) (io.stderr as NodeJS.WritableStream).write(`skiff: ${exit.error}\n`);
    return exit.exitCode;
  } finally {
    unwire();
  }
}

/** Hands the container to a detached `skiff __hold` process; resolves once it runs (or failed). */
async function startDetached(engine: Engine, id: string): Promise<void> {
  const bin = process.argv[1];
  if (!bin) throw new SkiffError('UNSUPPORTED', 'cannot find the skiff command to start a background process');
  const child = spawn(process.execPath, [...process.execArgv, bin, '__hold', id], { detached: true, stdio: 'ignore', env: process.env });
  child.unref();
  const t0 = Date.now();
  const before = (await engine.inspectContainer({ id })).runtimeData?.['error'];
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const rec = await engine.inspectContainer({ id });
    if (rec.state === 'running' || rec.state === 'exited') return;
    const err = rec.runtimeData?.['error'];
    if (typeof err === 'string' && err !== before) throw fail(rec.exitCode ?? 125, err);
    if (child.exitCode !== null && child.exitCode !== 0) throw fail(125, `the background skiff process exited with ${child.exitCode}`);
    if (Date.now() - t0 > 180_000) throw fail(125, `container ${id.slice(0, 12)} did not start within 180 s`);
  }
}

/** Docker's `run`/`create` flags (parsed by runtime/spec parseRunFlags). */
export function withRunFlags(c: Command): Command {
  return c
    .option('--rm', 'Automatically remove the container when it exits')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <name>', 'Assign a name to the container')
    .option('-e, --env <KEY=value>', 'Set environment variables', collectOpt)
    .option('--env-file <file>', 'Read in a file of environment variables', collectOpt)
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-v, --volume <spec>', 'Bind mount a volume', collectOpt)
    .option('--tmpfs <spec>', 'Mount a tmpfs directory', collectOpt)
    .option('--hostname <name>', 'Container host name')
    .option('--entrypoint <cmd>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--cpus <n>', 'Number of CPUs')
    .option('--pids-limit <n>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--stop-timeout <seconds>', 'Timeout (in seconds) to stop a container')
    .option('--stop-signal <signal>', 'Signal to stop the container')
    .option('-l, --label <key=value>', 'Set meta data on a container', collectOpt)
    .option('--cap-add <cap>', 'Add Linux capabilities', collectOpt)
    .option('--cap-drop <cap>', 'Drop Linux capabilities', collectOpt)
    .option('--group-add <group>', 'Add additional groups to join', collectOpt)
    .option('--security-opt <opt>', 'Security Options', collectOpt)
    .passThroughOptions();
}

/** A container from `run`/`create` flags (env files read here, on the host). */
export async function createFromFlags(engine: Engine, image: string, cmd: string[], o: Record<string, unknown>) {
  const flags: RunFlags = {
    ...(o as RunFlags), cmd,
    envFile: ((o['envFile'] as string[] | undefined) ?? []).map((name) => {
      try {
        return { name, text: new Uint8Array(readFileSync(name)) };
      } catch (err) {
        throw new SkiffError('INVALID_ARGUMENT', `open ${name}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
      }
    }),
  };
  const run = parseRunFlags(flags, { hostEnv: process.env });
  return engine.createContainer({ image, run, tty: run.tty ?? false, openStdin: run.interactive ?? false });
}

export function registerRunCommands(program: Command, container: Command, io: CliIO): void {
  const both = (name: string, add: (c: Command) => Command) => {
    add(program.command(name));
    add(container.command(name));
  };

  both('run', (c) => withRunFlags(c
    .description('Create and run a new container from an image')
    .argument('<image>').argument('[command...]')
    .option('-d, --detach', 'Run container in background and print container ID'))
    .action(async (image: string, cmd: string[], o) => {
      let engine: Engine;
      let id: string;
      try {
        if (o.tty && o.interactive && !(io.stdin as Stdin).isTTY) throw new SkiffError('INVALID_ARGUMENT', 'the input device is not a TTY');
        engine = await io.engine();
        id = (await createFromFlags(engine, image, cmd, o)).id;
      } catch (err) {
        throw fail(125, err);
      }
      if (o.detach) {
        await startDetached(engine, id).catch((err) => { throw err instanceof ExitStatusError ? err : fail(125, err); });
        out(io, id);
        return;
      }
      const status = await runAttached(io, engine, id, { tty: Boolean(o.tty), interactive: Boolean(o.interactive) });
      if (status !== 0) throw new ExitStatusError(status);
    }));

  program.command('__hold', { hidden: true })
    .argument('<container>')
    .action(async (id: string) => {
      const engine = await io.engine();
      for (const sig of ['SIGINT', ...PROXIED] as NodeJS.Signals[]) {
        process.on(sig, () => void engine.killContainer({ id, signal: sig }).catch(() => {}));
      }
      try {
        await engine.startContainer({ id });
      } catch {
        return; // the record holds the error
      }
      await engine.waitContainer({ id });
    });

  both('start', (c) => c
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      if (o.attach || o.interactive) {
        if (ids.length > 1) throw fail(125, 'you cannot start and attach multiple containers at once');
        const rec = await engine.inspectContainer({ id: ids[0]! });
        const status = await runAttached(io, engine, rec.id, { tty: rec.spec.tty, interactive: Boolean(o.interactive) && rec.spec.openStdin });
        if (status !== 0) throw new ExitStatusError(status);
        return;
      }
      let failed = false;
      for (const id of ids) {
        try {
          const rec = await engine.inspectContainer({ id });
          if (rec.state !== 'running') await startDetached(engine, rec.id);
          out(io, id);
        } catch (err) {
          (io.stderr as NodeJS.WritableStream).write(`Error response from daemon: ${(err as Error).message}\n`);
          failed = true;
        }
      }
      if (failed) throw new ExitStatusError(1);
    }));

  both('exec', (c) => c
    .description('Execute a command in a running container')
    .argument('<container>').argument('<command...>')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <KEY=value>', 'Set environment variables', collectOpt)
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID')
    .passThroughOptions()
    .action(async (id: string, cmd: string[], o) => {
      const engine = await io.engine();
      const size = o.tty ? consoleSize(io) : undefined;
      let p: { writeStdin(c: Uint8Array): void; closeStdin(): void; resize(s: { cols: number; rows: number }): Promise<void>; kill(sig: string): Promise<void>; wait(): Promise<{ exitCode: number }> };
      const req = {
        cmd, tty: Boolean(o.tty), openStdin: Boolean(o.interactive),
        ...(o.env ? { env: o.env as string[] } : {}), ...(o.workdir ? { workdir: o.workdir as string } : {}), ...(o.user ? { user: o.user as string } : {}),
        ...(size ? { consoleSize: size } : {}),
      };
      try {
        // The engine goes through the owning process when another one runs the container.
        p = await engine.execContainer({ id, ...req, io: outputTo(io) });
      } catch (err) {
        if (isSkiffError(err) && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND' || err.code === 'INVALID_ARGUMENT' || err.code === 'UNSUPPORTED')) throw fail(1, err);
        throw await startFailure(err);
      }
      const unwire = wireTerminal(io, { ...p, kill: (sig) => p.kill(sig) }, { tty: Boolean(o.tty), interactive: Boolean(o.interactive) });
      try {
        const s = await p.wait();
        if (s.exitCode !== 0) throw new ExitStatusError(s.exitCode);
      } finally {
        unwire();
      }
    }));

  both('stop', (c) => c
    .description('Stop one or more running containers')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'Seconds to wait before killing the container')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      await each(io, ids, (id) => engine.stopContainer({ id, ...(o.time !== undefined ? { timeout: Number(o.time) } : {}), ...(o.signal ? { signal: o.signal } : {}) }));
    }));

  both('kill', (c) => c
    .description('Kill one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'Signal to send to the container', 'KILL')
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      await each(io, ids, (id) => engine.killContainer({ id, signal: o.signal }));
    }));

  both('restart', (c) => c
    .description('Restart one or more containers')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'Seconds to wait before killing the container')
    .action(async (ids: string[], o) => {
      const engine = await io.engine();
      await each(io, ids, async (id) => {
        await engine.stopContainer({ id, ...(o.time !== undefined ? { timeout: Number(o.time) } : {}) });
        await startDetached(engine, (await engine.inspectContainer({ id })).id);
      });
    }));

  both('wait', (c) => c
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (ids: string[]) => {
      const engine = await io.engine();
      await each(io, ids, async (id) => { out(io, String((await engine.waitContainer({ id })).exitCode)); }, false);
    }));
}

async function each(io: CliIO, ids: string[], fn: (id: string) => Promise<unknown>, echo = true): Promise<void> {
  let failed = false;
  for (const id of ids) {
    try {
      await fn(id);
      if (echo) out(io, id);
    } catch (err) {
      (io.stderr as NodeJS.WritableStream).write(`Error response from daemon: ${(err as Error).message}\n`);
      failed = true;
    }
  }
  if (failed) throw new ExitStatusError(1);
}
