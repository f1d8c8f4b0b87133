/**
 * The engine's side of the snapshot store: a container's writable layer and a named volume as
 * live layers (live.ts), saved as they change; the record's `upper` / `data` keep only the size
 * stored (for `ps -s`, `df`), written when the layer is persisted (container exit).
 *
 * A container another skiff process runs (and so writes) opens here as a read-only view of what
 * that process saved last (diff, export, commit from elsewhere). A volume has one writer: a
 * second process gets CONFLICT naming the one that holds it.
 */
import { SkiffError } from '../../errors.ts';
import type { LayerTree } from '../../fs/layer.ts';
import type { Overlay } from '../../fs/overlay.ts';
import type { QuotaOptions } from '../../fs/quota.ts';
import type { EngineContext } from '../context.ts';
import { collectBlobs } from '../images.ts';
import { parseTar } from '../tar-io.ts';
import type { ContainerRecord, VolumeRecord } from '../types.ts';
import { closeLive, LiveLayer, liveLayer, openLive } from './live.ts';
import { containerSnapshot, volumeSnapshot, type SnapshotStore, type SnapshotWriter } from './store.ts';
import { MemorySnapshotStore } from './memory.ts';
import type { StateStore } from '../state/store.ts';

const now = (ctx: EngineContext) => (): number => ctx.now().getTime();

/** A container's `--storage-opt size=` over the engine's default; inodes always the default's. */
function containerQuota(ctx: EngineContext, rec: ContainerRecord): { quota?: QuotaOptions } {
  const size = rec.spec?.limits?.storageSize;
  const q: QuotaOptions = { ...ctx.storageQuota, ...(size ? { bytes: size } : {}) };
  return q.bytes === undefined && q.inodes === undefined ? {} : { quota: q };
}

export async function openContainerUpper(ctx: EngineContext, rec: ContainerRecord, lower: LayerTree | null): Promise<Overlay> {
  const key = containerSnapshot(rec.id);
  const legacy = rec.upper?.digest;
  const opts = { lower, now: now(ctx), ...containerQuota(ctx, rec), ...(legacy ? { legacy: async () => parseTar(await ctx.content.get(legacy)) } : {}) };
  try {
    return (await openLive(ctx.snapshots, key, async () => opts)).fs;
  } catch (err) {
    if (!(err instanceof SkiffError && err.code === 'CONFLICT') || legacy) throw err;
    return LiveLayer.view(ctx.snapshots, key, opts);
  }
}

/** Saves what changed and records the stored size; the record as it is now. */
export async function saveContainerUpper(ctx: EngineContext, id: string, fs: Overlay): Promise<ContainerRecord> {
  const key = containerSnapshot(id);
  const live = await liveLayer(ctx.snapshots, key)?.catch(() => undefined);
  if (live && live.fs === fs) await live.flush();
  const size = live ? live.storedBytes : await ctx.snapshots.usage(key);
  return ctx.state.transaction(async (tx) => {
    const rec = await tx.get<ContainerRecord>('containers', id);
    if (!rec) throw new SkiffError('NOT_FOUND', `No such container: ${id}`);
    const next: ContainerRecord = { ...rec, upper: size > 0 || rec.upper ? { size } : null };
    await tx.put('containers', id, next);
    // A layer saved in the old form (one tar blob) now lives in the snapshot store.
    if (rec.upper?.digest && live) await collectBlobs(ctx, tx, [rec.upper.digest]);
    return next;
  });
}

export async function openVolumeFs(ctx: EngineContext, rec: VolumeRecord): Promise<Overlay> {
  const legacy = rec.data?.digest;
  const opts = { lower: null, now: now(ctx), ...(ctx.storageQuota ? { quota: ctx.storageQuota } : {}), ...(legacy ? { legacy: async () => parseTar(await ctx.content.get(legacy)) } : {}) };
  return (await openLive(ctx.snapshots, volumeSnapshot(rec.name), async () => opts)).fs;
}

export async function saveVolumeFs(ctx: EngineContext, name: string, fs: Overlay): Promise<VolumeRecord> {
  const key = volumeSnapshot(name);
  const live = await liveLayer(ctx.snapshots, key)?.catch(() => undefined);
  if (live && live.fs === fs) await live.flush();
  const size = live ? live.storedBytes : await ctx.snapshots.usage(key);
  return ctx.state.transaction(async (tx) => {
    const rec = await tx.get<VolumeRecord>('volumes', name);
    if (!rec) throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
    const next: VolumeRecord = { ...rec, data: { size } };
    await tx.put('volumes', name, next);
    if (rec.data?.digest && live) await collectBlobs(ctx, tx, [rec.data.digest]);
    return next;
  });
}

/**
 * Before a record goes: makes this process the snapshot's writer (CONFLICT while another live
 * process is), so a volume in use elsewhere is refused before anything is deleted. Pass the result
 * to `dropSnapshot` once the record is gone.
 */
export async function claimSnapshot(ctx: EngineContext, key: string): Promise<SnapshotWriter> {
  await closeLive(ctx.snapshots, key);
  return ctx.snapshots.open(key);
}

/** Closes this process's live layer for `key` (saving it) and deletes the stored snapshot. */
export async function dropSnapshot(ctx: EngineContext, key: string, claimed?: SnapshotWriter): Promise<void> {
  await claimed?.close();
  await closeLive(ctx.snapshots, key).catch(() => {});
  await ctx.snapshots.remove(key);
}

/**
 * Snapshots no record names (a process killed between deleting a record and its snapshot), and
 * the live layers of this process that lost their record. Part of prune.
 */
export async function sweepSnapshots(ctx: EngineContext): Promise<number> {
  const containers = new Set(await ctx.state.keys('containers'));
  const volumes = new Set(await ctx.state.keys('volumes'));
  let n = 0;
  for (const key of await ctx.snapshots.list()) {
    const [kind, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const known = kind === 'container' || kind === 'logs' ? containers.has(name) : kind === 'volume' ? volumes.has(name) : true;
    if (known) continue;
    await dropSnapshot(ctx, key).then(() => n++, () => {}); // held by a live process: its own business
  }
  return n;
}

/** Without a snapshot store of its own, an engine keeps layers in memory beside its state store (engines sharing one state share these too). */
const besideState = new WeakMap<StateStore, SnapshotStore>();
export function defaultSnapshots(state: StateStore): SnapshotStore {
  let s = besideState.get(state);
  if (!s) besideState.set(state, (s = new MemorySnapshotStore()));
  return s;
}
