/**
 * `run` for the page over the engine's lifecycle (Engine.createContainer + startContainer, the
 * runtimes given to the Engine by runtimes.ts): streams stdio through the sink, pumps the
 * keyboard into stdin, reports start (for kill and resize) and returns the exit status.
 */
import { SkiffError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { RuntimeProcess } from '../../runtime/types.ts';
import type { OutputSink, RunRequest, RunResult } from '../rpc/protocol.ts';
import { p9Stats, type BrowserRuntimes } from './runtimes.ts';
import { mark, timed } from './timeline.ts';

export type Running = Pick<RuntimeProcess, 'resize'>;

/** Feeds the sink's stdin into the process until EOF (or the process ends). */
export async function pumpStdin(sink: OutputSink, proc: RuntimeProcess, ended: Promise<unknown>): Promise<void> {
  let done = false;
  void ended.finally(() => { done = true; }).catch(() => {});
  while (!done) {
    const chunk = await sink.stdin!();
    if (done) return;
    if (chunk === null) { proc.closeStdin(); return; }
    if (chunk.length) proc.writeStdin(chunk);
  }
}

/** Host directories exist only on Node: say so before anything is created. */
export function refuseBinds(req: RunRequest): void {
  for (const v of req.run?.volumes ?? []) {
    if (v.type === 'bind') throw new SkiffError('UNSUPPORTED', `-v ${v.source}:${v.destination}: host directories cannot be mounted in a browser; use a named volume (-v name:${v.destination})`);
  }
}

/** Creates and starts the container; `wait` settles after the engine recorded the exit. */
export async function startContainer(engine: Engine, runtimes: BrowserRuntimes, req: RunRequest, sink: OutputSink, running: Map<string, Running>): Promise<{ id: string; name: string; proc: RuntimeProcess }> {
  refuseBinds(req);
  const { run, rm, stdin, streamStdin, consoleSize, ...create } = req;
  const openStdin = streamStdin === true || stdin !== undefined || create.openStdin === true;
  const rec = await timed('run.create', engine.createContainer({ ...create, openStdin, run: { ...run, ...(rm ? { rm: true } : {}) } }));
  if (rec.runtime === 'vm') {
    if (!runtimes.vmStarted()) sink.status?.('starting the Linux VM…');
    runtimes.warmVm().catch(() => {});
  }
  let proc: RuntimeProcess;
  const p9Before = { ...p9Stats };
  let firstOut = true;
  const first = () => {
    if (!firstOut) return;
    firstOut = false;
    mark('run.first-output', { p9Requests: p9Stats.requests - p9Before.requests, p9Ms: Math.round(p9Stats.ms - p9Before.ms) });
  };
  try {
    proc = await timed('run.start', engine.startContainer({
      id: rec.id, io: { onStdout: (d) => { first(); sink.stdout(d); }, onStderr: (d) => { first(); sink.stderr(d); } },
      ...(consoleSize ? { consoleSize } : {}),
    }));
  } catch (err) {
    if (rm) await engine.removeContainer({ id: rec.id, force: true }).catch(() => {});
    throw err;
  }
  running.set(rec.id, proc);
  const exited = proc.wait().finally(() => running.delete(rec.id));
  exited.catch(() => {});
  sink.started?.({ id: rec.id, name: rec.name, runtime: rec.runtime, pty: rec.spec.tty && rec.runtime === 'vm' });
  if (streamStdin && sink.stdin) void pumpStdin(sink, proc, exited).catch(() => {});
  else if (stdin !== undefined) {
    proc.writeStdin(typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin);
    proc.closeStdin();
  }
  return { id: rec.id, name: rec.name, proc: { ...proc, wait: () => exited } };
}

export async function runContainer(engine: Engine, runtimes: BrowserRuntimes, req: RunRequest, sink: OutputSink, running: Map<string, Running>): Promise<RunResult> {
  const { id, name, proc } = await startContainer(engine, runtimes, req, sink, running);
  const exit = await proc.wait();
  if (exit.error) sink.stderr(new TextEncoder().encode(`skiff: ${exit.error}\n`));
  return { id, name, exitCode: exit.exitCode };
}
