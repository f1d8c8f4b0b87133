/**
 * Named volumes: a filesystem that outlives containers. Live as an Overlay over an empty lower,
 * saved to the snapshot store as it changes (engine/snapshots), with one writing process at a time.
 * Containers name the volumes they use in `ContainerRecord.volumes`; a used volume is not removed.
 */
import { SkiffError } from '../errors.ts';
import type { Overlay } from '../fs/overlay.ts';
import type { EngineContext } from './context.ts';
import { collectBlobs } from './images.ts';
import { claimSnapshot, dropSnapshot, openVolumeFs, saveVolumeFs, sweepSnapshots } from './snapshots/engine-layers.ts';
import { volumeSnapshot, type SnapshotWriter } from './snapshots/store.ts';
import type { ContainerRecord, VolumeRecord } from './types.ts';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export async function createVolume(ctx: EngineContext, o: { name?: string; labels?: Record<string, string> }): Promise<VolumeRecord> {
  const anonymous = o.name === undefined;
  const name = o.name ?? [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (!NAME_RE.test(name)) {
    throw new SkiffError('INVALID_ARGUMENT', `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
  }
  let made = false;
  const rec = await ctx.state.transaction(async (tx) => {
    const existing = await tx.get<VolumeRecord>('volumes', name);
    if (existing) return existing; // Docker: creating an existing volume returns it
    const rec: VolumeRecord = { name, created: ctx.now().toISOString(), labels: o.labels ?? {}, anonymous, data: null };
    await tx.put('volumes', name, rec);
    made = true;
    return rec;
  });
  if (made) ctx.recorder?.volume('create', name);
  return rec;
}

export async function getVolume(ctx: EngineContext, name: string): Promise<VolumeRecord> {
  const v = await ctx.state.get<VolumeRecord>('volumes', name);
  if (!v) throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
  return v;
}

/** The volume's live filesystem: this process becomes its one writer (CONFLICT while another process is). */
export function openVolume(ctx: EngineContext, rec: VolumeRecord): Promise<Overlay> {
  return openVolumeFs(ctx, rec);
}

/** Saves what changed in the volume (cost follows the change) and records its stored size. */
export function saveVolume(ctx: EngineContext, name: string, fs: Overlay): Promise<VolumeRecord> {
  return saveVolumeFs(ctx, name, fs);
}

function users(containers: ContainerRecord[], name: string): ContainerRecord[] {
  return containers.filter((c) => c.volumes?.includes(name));
}

export async function removeVolume(ctx: EngineContext, name: string, force: boolean): Promise<void> {
  const claimed = await ctx.state.transaction(async (tx) => {
    const rec = await tx.get<VolumeRecord>('volumes', name);
    if (!rec) {
      if (force) return undefined;
      throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
    }
    const using = users(await tx.list<ContainerRecord>('containers'), name);
    if (using.length > 0) {
      throw new SkiffError('IN_USE', `remove ${name}: volume is in use - [${using.map((c) => c.id).join(', ')}]`);
    }
    const writer = await claimSnapshot(ctx, volumeSnapshot(name));
    await tx.delete('volumes', name);
    if (rec.data?.digest) await collectBlobs(ctx, tx, [rec.data.digest]);
    return writer;
  });
  if (claimed) await dropSnapshot(ctx, volumeSnapshot(name), claimed);
  if (claimed !== undefined) ctx.recorder?.volume('destroy', name);
}

/** Removes volumes no container uses; like Docker, only anonymous ones unless `all`. */
export async function pruneVolumes(ctx: EngineContext, all: boolean): Promise<{ deleted: string[]; reclaimed: number }> {
  const claimed = new Map<string, SnapshotWriter>();
  const out = await ctx.state.transaction(async (tx) => {
    const containers = await tx.list<ContainerRecord>('containers');
    const out = { deleted: [] as string[], reclaimed: 0 };
    for (const v of await tx.list<VolumeRecord>('volumes')) {
      if ((!all && !v.anonymous) || users(containers, v.name).length > 0) continue;
      // One another process is writing is not unused: it stays.
      const writer = await claimSnapshot(ctx, volumeSnapshot(v.name)).catch(() => null);
      if (!writer) continue;
      claimed.set(v.name, writer);
      await tx.delete('volumes', v.name);
      if (v.data?.digest) await collectBlobs(ctx, tx, [v.data.digest]);
      out.reclaimed += v.data?.size ?? 0;
      out.deleted.push(v.name);
    }
    return out;
  });
  for (const [name, writer] of claimed) await dropSnapshot(ctx, volumeSnapshot(name), writer).catch(() => {});
  await sweepSnapshots(ctx);
  for (const name of out.deleted) ctx.recorder?.volume('destroy', name);
  ctx.recorder?.emit('volume', 'prune', '', { reclaimed: String(out.reclaimed) });
  return out;
}
