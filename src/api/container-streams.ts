/**
 * The container endpoints that stream: attach (hijacked: output framed unless Tty, stdin from
 * the client), wait (the answer once the condition holds) and logs (backlog, then follow).
 * Containers started by this server are followed through the hub; ones another skiff process
 * runs, through the engine's control channel.
 */
import type { Engine } from '../engine/engine.ts';
import type { LogEntry } from '../engine/lifecycle.ts';
import type { ContainerRecord } from '../engine/types.ts';
import { isSkiffError } from '../errors.ts';
import type { ExitStatus, RuntimeProcess } from '../runtime/types.ts';
import { writeFrom } from '../runtime/stdin-gate.ts';
import { enc, type Call } from './call.ts';
import { outputConnection } from './connection.ts';
import { badRequest } from './errors.ts';
import { containerEvent } from './events.ts';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from '../util/detach-keys.ts';
import type { Hub } from './hub.ts';
import { bool, time } from './query.ts';
import type { Router } from './router.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM } from './stream.ts';
import { recordedOf } from './views.ts';

export function statusOf(rec: ContainerRecord): ExitStatus {
  return { exitCode: rec.exitCode ?? 0, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
}

export const isRunning = (rec: ContainerRecord): boolean => rec.state === 'running' || rec.state === 'paused';

/** Log chunks split at line ends (Docker keeps one entry per line: `tail` counts lines). */
export function logLines(entries: LogEntry[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const e of entries) {
    let start = 0;
    for (let i = 0; i < e.data.length; i++) {
      if (e.data[i] === 0x0a) {
        out.push({ ...e, data: e.data.subarray(start, i + 1) });
        start = i + 1;
      }
    }
    if (start < e.data.length) out.push({ ...e, data: e.data.subarray(start) });
  }
  return out;
}

/** RFC 3339 with nanoseconds, as Docker prints log timestamps. */
export function nanoTime(iso: string): string {
  return iso.replace(/\.(\d+)Z$/, (_m, f: string) => `.${f.padEnd(9, '0')}Z`).replace(/:(\d\d)Z$/, ':$1.000000000Z');
}

export function containerStreamRoutes(r: Router, engine: Engine, hub: Hub): void {
  const find = (call: Call) => engine.inspectContainer({ id: call.params['id']! });

  r.add('POST /containers/{id}/attach', async (call) => {
    const rec = await find(call);
    const q = call.query;
    let keys: Uint8Array;
    try {
      keys = parseDetachKeys(q.get('detachKeys') || DEFAULT_DETACH_KEYS);
    } catch (err) {
      throw badRequest(err instanceof Error ? err.message : String(err));
    }
    const want = { stdout: bool(q, 'stdout'), stderr: bool(q, 'stderr') };
    const conn = outputConnection(call.hijack(rec.spec.tty ? RAW_STREAM : MULTIPLEXED_STREAM), rec.spec.tty);
    const out = (kind: 'stdout' | 'stderr', d: Uint8Array) => (want[kind] ? conn.write(kind, d) : undefined);
    if (bool(q, 'logs')) for (const e of await engine.containerLogs({ id: rec.id })) await out(e.stream, e.data);
    if (!bool(q, 'stream')) return conn.end();
    if (isRunning(rec) && !hub.process(rec.id)) {
      // Run by another skiff process: attached through the engine (that process's control channel),
      // stdin, resize and detach keys included; it records the attach.
      const p = await engine.attachContainer({ id: rec.id, io: { onStdout: (d) => out('stdout', d), onStderr: (d) => out('stderr', d) } });
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        p.detach();
        conn.end();
      };
      if (conn.stdin) wireStdin(conn.stdin, rec, bool(q, 'stdin'), Promise.resolve(p), keys, leave);
      call.onAbort(leave);
      await p.wait().catch(() => undefined);
      return leave();
    }
    containerEvent(engine, rec, 'attach');
    let detach = () => {};
    if (conn.stdin) wireStdin(conn.stdin, rec, bool(q, 'stdin'), hub.whenStarted(rec.id), keys, () => { detach(); conn.end(); });
    detach = hub.attach(rec.id, { output: out, end: () => conn.end() });
    call.onAbort(detach);
  });

  /** The client's stdin to the process, Docker's detach keys (`leave`) taken out of it. */
  function wireStdin(sock: NonNullable<ReturnType<typeof outputConnection>['stdin']>, rec: ContainerRecord, stdin: boolean, proc: Promise<RuntimeProcess>, keys: Uint8Array, leave: () => void): void {
    if (!stdin || !rec.spec.openStdin) {
      sock.on('data', () => {});
      return;
    }
    const scanner = new DetachScanner(keys);
    let detached = false;
    // Nothing is read before the process exists, and then only while it takes it (stdin-gate.ts).
    sock.pause();
    void proc.then(() => sock.resume(), () => {});
    sock.on('data', (d: Uint8Array) => {
      if (detached) return;
      const s = scanner.push(new Uint8Array(d));
      if (s.data.length) void proc.then((p) => writeFrom(sock, () => p.writeStdin(s.data)));
      if (s.detached) {
        detached = true;
        leave();
      }
    });
    // The client closed its stdin: with StdinOnce (docker run -i) the container's stdin closes too.
    sock.on('end', () => { if (!detached && recordedOf(rec).stdinOnce) void proc.then((p) => p.closeStdin()); });
  }

  r.add('POST /containers/{id}/wait', async (call) => {
    const rec = await find(call);
    const condition = call.query.get('condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badRequest(`invalid value for query parameter condition: "${condition}" (not-running, next-exit, removed)`);
    const w = call.begin(200, 'application/json');
    let status: ExitStatus;
    try {
      if (hub.process(rec.id) || isRunning(rec)) status = await engine.waitContainer({ id: rec.id });
      else if (condition === 'not-running') status = statusOf(rec);
      else status = await nextExit(rec.id, call, condition === 'removed');
      if (condition === 'removed') await gone(rec.id, call);
    } catch (err) {
      await w.write(JSON.stringify({ StatusCode: -1, Error: { Message: err instanceof Error ? err.message : String(err) } }));
      return w.end();
    }
    await w.write(JSON.stringify({ StatusCode: status.exitCode, Error: status.error ? { Message: status.error } : null }) + '\n');
    w.end();
  });

  /** The next exit: of a start through this server, or of a run another skiff process starts. */
  async function nextExit(id: string, call: Call, failedStart: boolean): Promise<ExitStatus> {
    const here = hub.nextExit(id, { failedStart });
    for (;;) {
      const tick = new Promise<'tick'>((res) => setTimeout(() => res('tick'), 500));
      const first = await Promise.race([here, tick]);
      if (first !== 'tick') return first;
      if (call.aborted) throw new Error('client went away');
      const rec = await engine.inspectContainer({ id }).catch(() => undefined);
      if (rec && isRunning(rec) && !hub.process(id)) return engine.waitContainer({ id });
    }
  }

  async function gone(id: string, call: Call): Promise<void> {
    while (!call.aborted) {
      try {
        await engine.inspectContainer({ id });
      } catch (err) {
        if (isSkiffError(err, 'NOT_FOUND')) return;
        throw err;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  r.add('GET /containers/{id}/logs', async (call) => {
    const rec = await find(call);
    const q = call.query;
    const want = { stdout: bool(q, 'stdout'), stderr: bool(q, 'stderr') };
    if (!want.stdout && !want.stderr) throw badRequest('Bad parameters: you must choose at least one stream');
    const since = time(q, 'since');
    const until = time(q, 'until');
    const stamps = bool(q, 'timestamps');
    const tailRaw = q.get('tail');
    const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw badRequest(`invalid value for query parameter tail: "${tailRaw}"`);
    const w = outputConnection(call.begin(200, rec.spec.tty ? RAW_STREAM : MULTIPLEXED_STREAM), rec.spec.tty);
    const keep = (e: LogEntry): boolean => {
      const t = Date.parse(e.time);
      return want[e.stream] && (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    const emit = (e: LogEntry): Promise<void> => w.write(e.stream, stamps ? new Uint8Array([...enc.encode(`${nanoTime(e.time)} `), ...e.data]) : e.data);
    const backlog = (entries: LogEntry[]): LogEntry[] => {
      const lines = logLines(entries).filter(keep);
      return tail === undefined ? lines : tail === 0 ? [] : lines.slice(-tail);
    };
    if (!bool(q, 'follow')) {
      for (const e of backlog(await engine.containerLogs({ id: rec.id }))) await emit(e);
      return w.end();
    }
    // Live entries queue up until the backlog is out, so the order holds.
    let live: LogEntry[] | null = [];
    const f = await engine.followContainerLogs({ id: rec.id, onEntry: (e) => { if (live) live.push(e); else if (keep(e)) void emit(e); } });
    for (const e of backlog(f.entries)) await emit(e);
    for (const e of logLines(live)) if (keep(e)) await emit(e);
    live = null;
    await Promise.race([f.done(), new Promise<void>((res) => call.onAbort(res))]);
    w.end();
  });

}
