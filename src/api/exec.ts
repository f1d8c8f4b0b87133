/**
 * /containers/{id}/exec and /exec/{id}/*: an exec is created (its config kept here), started on
 * a hijacked connection (output framed unless Tty, stdin from the client), and inspected for its
 * exit code, which `docker exec` reads once the stream ends: so the code is recorded first.
 */
import type { Engine } from '../engine/engine.ts';
import type { RuntimeProcess } from '../runtime/types.ts';
import { writeFrom } from '../runtime/stdin-gate.ts';
import { outputConnection } from './connection.ts';
import { field } from './create-body.ts';
import { badRequest, conflict, notFound } from './errors.ts';
import { int } from './query.ts';
import type { Router } from './router.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM } from './stream.ts';

interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  consoleSize?: { rows: number; cols: number };
  running: boolean;
  exitCode: number | null;
  proc?: RuntimeProcess;
}

/** How long a finished exec stays inspectable. */
const EXEC_KEEP_MS = 10 * 60_000;

function newExecId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function execRoutes(r: Router, engine: Engine): void {
  const execs = new Map<string, ExecRecord>();
  const find = (id: string): ExecRecord => {
    const e = execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  };

  r.add('POST /containers/{id}/exec', async (call) => {
    const body = await call.json();
    const rec = await engine.inspectContainer({ id: call.params['id']! });
    if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
    const cmd = field<string[]>(body, 'Cmd', 'strslice', 'Cmd');
    if (!cmd?.length) throw badRequest('field Cmd is required: the command to run (No exec command specified)');
    const cs = field<number[]>(body, 'ConsoleSize', 'array', 'ConsoleSize');
    const env = field<string[]>(body, 'Env', 'strings', 'Env');
    const workdir = field<string>(body, 'WorkingDir', 'string', 'WorkingDir');
    const user = field<string>(body, 'User', 'string', 'User');
    const e: ExecRecord = {
      id: newExecId(), containerId: rec.id, cmd,
      ...(env?.length ? { env } : {}), ...(workdir ? { workdir } : {}), ...(user ? { user } : {}),
      tty: field<boolean>(body, 'Tty', 'boolean', 'Tty') ?? false,
      attachStdin: field<boolean>(body, 'AttachStdin', 'boolean', 'AttachStdin') ?? false,
      attachStdout: field<boolean>(body, 'AttachStdout', 'boolean', 'AttachStdout') ?? false,
      attachStderr: field<boolean>(body, 'AttachStderr', 'boolean', 'AttachStderr') ?? false,
      ...(cs && cs.length === 2 && cs[0]! > 0 ? { consoleSize: { rows: cs[0]!, cols: cs[1]! } } : {}),
      running: false, exitCode: null,
    };
    execs.set(e.id, e);
    call.send(201, { Id: e.id });
  });

  r.add('POST /exec/{id}/start', async (call) => {
    const e = find(call.params['id']!);
    const body = await call.json();
    const detach = field<boolean>(body, 'Detach', 'boolean', 'Detach') ?? false;
    const tty = field<boolean>(body, 'Tty', 'boolean', 'Tty') ?? e.tty;
    const cs = field<number[]>(body, 'ConsoleSize', 'array', 'ConsoleSize');
    if (e.running || e.exitCode !== null) throw conflict(`exec ${e.id} has already been started`);
    const consoleSize = cs && cs.length === 2 && cs[0]! > 0 ? { rows: cs[0]!, cols: cs[1]! } : e.consoleSize;
    const conn = detach ? undefined : outputConnection(call.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM), tty);
    const want = { stdout: e.attachStdout, stderr: e.attachStderr };
    e.running = true;
    let proc: RuntimeProcess;
    try {
      proc = await engine.execContainer({
        id: e.containerId, cmd: e.cmd, tty, openStdin: e.attachStdin && !detach,
        ...(e.env ? { env: e.env } : {}), ...(e.workdir ? { workdir: e.workdir } : {}), ...(e.user ? { user: e.user } : {}),
        ...(consoleSize ? { consoleSize } : {}),
        io: {
          onStdout: (d) => (conn && want.stdout ? conn.write('stdout', d) : undefined),
          onStderr: (d) => (conn && want.stderr ? conn.write('stderr', d) : undefined),
        },
      });
    } catch (err) {
      e.running = false;
      e.exitCode = 126;
      if (!conn) throw err;
      // The stream is already hijacked: the error goes out on it, as Docker's daemon does.
      await conn.write('stderr', new TextEncoder().encode(`${err instanceof Error ? err.message : String(err)}\n`));
      return conn.end();
    }
    e.proc = proc;
    if (conn?.stdin) {
      const sock = conn.stdin;
      if (e.attachStdin) {
        sock.on('data', (d: Uint8Array) => writeFrom(sock, () => proc.writeStdin(new Uint8Array(d))));
        sock.on('end', () => proc.closeStdin());
      } else sock.on('data', () => {});
    }
    if (!conn) call.send(200);
    const status = await proc.wait().catch(() => ({ exitCode: 126 }));
    e.exitCode = status.exitCode;
    e.running = false;
    delete e.proc;
    conn?.end();
    // Clients inspect an exec right after its stream ends; later, the record only takes memory.
    setTimeout(() => execs.delete(e.id), EXEC_KEEP_MS).unref();
  });

  r.add('POST /exec/{id}/resize', async (call) => {
    const e = find(call.params['id']!);
    const h = int(call.query, 'h');
    const w = int(call.query, 'w');
    if (!h || !w) throw badRequest('resize: query parameters h and w (rows and columns) are required');
    if (!e.proc) throw conflict(`exec ${e.id} is not running`);
    await e.proc.resize({ rows: h, cols: w });
    call.send(200);
  });

  r.add('GET /exec/{id}/json', async (call) => {
    const e = find(call.params['id']!);
    call.send(200, {
      ID: e.id, ContainerID: e.containerId, Running: e.running, ExitCode: e.exitCode,
      OpenStdin: e.attachStdin, OpenStdout: e.attachStdout, OpenStderr: e.attachStderr, CanRemove: false, DetachKeys: '',
      ProcessConfig: { entrypoint: e.cmd[0], arguments: e.cmd.slice(1), tty: e.tty, privileged: false, ...(e.user ? { user: e.user } : {}) },
      Pid: 0,
    });
  });
}
