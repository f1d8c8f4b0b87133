/**
 * The lifecycle's operations on a container another process owns: everything goes through the
 * owner's control channel, proven by its hello. When the owner does not answer, its record is
 * what is left: a dead owner's container is reconciled as exited, and a hung one is SIGKILLed
 * only when its pid and start time prove it is the owner (never a process that merely got the
 * pid since).
 */
import { SkiffError } from '../../errors.ts';
import type { ExitStatus, ProcessIO, RuntimeProcess } from '../../runtime/types.ts';
import type { ContainerRecord } from '../types.ts';
import type { ExecSpec } from './protocol.ts';
import type { ControlPlane, LogRecord, Owner, RemoteOwner } from './types.ts';

export interface RemoteContext {
  plane: ControlPlane | undefined;
  /** The container's record, reconciled (a dead owner's container reads as exited). */
  reread(id: string): Promise<ContainerRecord>;
}

export function ownerOf(rec: ContainerRecord): Owner | undefined {
  const o = rec.runtimeData?.['owner'] as Owner | undefined;
  return o && typeof o === 'object' && typeof o.session === 'string' ? o : undefined;
}

const live = (rec: ContainerRecord) => rec.state === 'running' || rec.state === 'paused';

export function statusOf(rec: ContainerRecord): ExitStatus {
  return { exitCode: rec.exitCode ?? 137, oomKilled: rec.exit?.oomKilled ?? false, ...(rec.exit?.signal ? { signal: rec.exit.signal } : {}), ...(rec.exit?.error ? { error: rec.exit.error } : {}) };
}

function unreachable(rec: ContainerRecord): SkiffError {
  const pid = ownerOf(rec)?.pid;
  return new SkiffError('CONFLICT', `container ${rec.name} runs in another skiff process${pid ? ` (pid ${pid})` : ''} that cannot be reached${pid ? ' on its control socket' : ' from here'}`);
}

/** The proven owner of `rec`; throws CONFLICT when the container stopped meanwhile or the owner cannot be reached. */
export async function reach(ctx: RemoteContext, rec: ContainerRecord): Promise<RemoteOwner> {
  const owner = ownerOf(rec);
  const link = owner && ctx.plane ? await ctx.plane.connect(owner, rec.id) : undefined;
  if (link) return link;
  const now = await ctx.reread(rec.id);
  if (!live(now)) throw new SkiffError('CONFLICT', `container ${rec.name} is not running`);
  throw unreachable(now);
}

/** Polls the record until the container is no longer running (or `ms` passed). */
export async function pollUntilExited(ctx: RemoteContext, id: string, ms = Infinity): Promise<ContainerRecord> {
  const t0 = Date.now();
  for (;;) {
    const rec = await ctx.reread(id);
    if (!live(rec) || Date.now() - t0 >= ms) return rec;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function remoteKill(ctx: RemoteContext, rec: ContainerRecord, signal: string | number): Promise<void> {
  await (await reach(ctx, rec)).signal(String(signal));
}

/** Blocks until the container exits; its status as the owner saw it (also when --rm removed the record). */
export async function remoteWait(ctx: RemoteContext, rec: ContainerRecord): Promise<ExitStatus> {
  const owner = ownerOf(rec);
  const link = owner && ctx.plane ? await ctx.plane.connect(owner, rec.id) : undefined;
  const status = link ? await link.wait() : undefined;
  return status ?? statusOf(await pollUntilExited(ctx, rec.id));
}

/**
 * `docker stop` through the owner: the stop signal, SIGKILL after `seconds`, and when the owner
 * answers none of it, the owner process itself (only if proven, see above).
 */
export async function remoteStop(ctx: RemoteContext, rec: ContainerRecord, signal: string, seconds: number): Promise<ExitStatus | undefined> {
  const owner = ownerOf(rec);
  const link = owner && ctx.plane ? await ctx.plane.connect(owner, rec.id) : undefined;
  let status: ExitStatus | undefined;
  if (link) {
    await link.signal(signal).catch(() => {});
    status = await link.wait(seconds < 0 ? Infinity : seconds * 1000);
    if (!status) {
      await link.signal('SIGKILL').catch(() => {});
      status = await link.wait(10_000);
    }
  }
  if (status) return status;
  let after = await ctx.reread(rec.id);
  if (!live(after)) return statusOf(after);
  if (!owner || !ctx.plane?.killOwner(owner)) {
    throw new SkiffError('CONFLICT', `cannot stop container ${rec.name}: the skiff process that runs it${owner?.pid ? ` (pid ${owner.pid})` : ''} does not answer and is not proven to be its owner, so it was not killed`);
  }
  after = await pollUntilExited(ctx, rec.id, 5000);
  return statusOf(after);
}

export async function remoteExec(ctx: RemoteContext, rec: ContainerRecord, spec: ExecSpec, io: ProcessIO): Promise<RuntimeProcess> {
  return (await reach(ctx, rec)).exec(spec, io);
}

/** The owner's live log (with `onEntry`: followed until the container exits); undefined when it cannot be reached. */
export async function remoteLogs(ctx: RemoteContext, rec: ContainerRecord, onEntry?: (e: LogRecord) => void): Promise<{ entries: LogRecord[]; done: Promise<void> } | undefined> {
  const owner = ownerOf(rec);
  const link = owner && ctx.plane ? await ctx.plane.connect(owner, rec.id) : undefined;
  return link ? link.logs(onEntry) : undefined;
}
