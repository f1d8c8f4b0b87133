/**
 * The container store: container records (migrated on read, containers.ts fromStored), each
 * container's live writable layer (one Overlay per container per engine, saved back on demand),
 * volumes (one live Overlay per volume) and the logs (logs.ts). It knows nothing of runtimes or of
 * running processes: the lifecycle (lifecycle.ts) drives it, the facade (engine.ts) reads it.
 */
import type { Overlay } from '../fs/overlay.ts';
import type { ImageConfig } from '../oci/config.ts';
import {
  createContainerRecord, deleteContainerRecord, openOverlay, renameContainer, saveUpper,
  type NewContainer,
} from './containers.ts';
import { findContainer, fromStored } from './container-records.ts';
import type { EngineContext } from './context.ts';
import type { LayerCache } from './layers.ts';
import { ContainerLog, readLogs, saveLogs, type LogEntry } from './logs.ts';
import { sweepSnapshots } from './snapshots/engine-layers.ts';
import type { ContainerId, ContainerRecord, ImageRecord, VolumeRecord } from './types.ts';
import { createVolume, getVolume, openVolume, pruneVolumes, removeVolume, saveVolume } from './volumes.ts';

export type ContainerPatch = Partial<Omit<ContainerRecord, 'id' | 'image' | 'imageId'>>;

export class ContainerStore {
  private readonly overlays = new Map<ContainerId, Promise<Overlay>>();
  private readonly volumeFss = new Map<string, Promise<Overlay>>();

  constructor(private readonly ctx: EngineContext, private readonly layers: LayerCache) {}

  now(): Date {
    return this.ctx.now();
  }

  // ---- records ----

  /** By id, name or unique id prefix; NOT_FOUND otherwise. */
  get(ref: string): Promise<ContainerRecord> {
    return findContainer(this.ctx.state, ref);
  }

  async list(): Promise<ContainerRecord[]> {
    return (await this.ctx.state.list<ContainerRecord>('containers')).map(fromStored);
  }

  create(image: ImageRecord, config: ImageConfig, o: NewContainer): Promise<ContainerRecord> {
    return createContainerRecord(this.ctx, image, config, o);
  }

  /** Patch the record in one transaction; `patch` may be computed from the current record. */
  update(id: string, patch: ContainerPatch | ((cur: ContainerRecord) => ContainerPatch)): Promise<ContainerRecord> {
    return this.ctx.state.transaction(async (tx) => {
      const rec = await findContainer(tx, id);
      const next = { ...rec, ...(typeof patch === 'function' ? patch(rec) : patch) };
      await tx.put('containers', rec.id, next);
      return next;
    });
  }

  rename(ref: string, name: string): Promise<ContainerRecord> {
    return renameContainer(this.ctx, ref, name);
  }

  /** Deletes the record (and its layer and log blobs); a running one only with `force`. */
  async remove(id: string, force: boolean): Promise<ContainerRecord> {
    const rec = await deleteContainerRecord(this.ctx, id, force);
    this.overlays.delete(rec.id);
    return rec;
  }

  // ---- writable layers ----

  /** The container's root filesystem: one live Overlay per container per engine. */
  async fs(ref: string): Promise<Overlay> {
    const rec = await this.get(ref);
    let fs = this.overlays.get(rec.id);
    // A read-only view (another process was writing it) is not kept: it would go stale.
    if (!fs || (await fs.catch(() => null))?.readOnly) {
      fs = openOverlay(this.ctx, this.layers, rec);
      this.overlays.set(rec.id, fs);
      fs.catch(() => this.overlays.delete(rec.id));
    }
    return fs;
  }

  /** Saves what changed in the live overlay's writable layer so later processes see the writes. */
  async persist(ref: string): Promise<ContainerRecord> {
    const rec = await this.get(ref);
    const fs = this.overlays.get(rec.id);
    if (!fs) return rec;
    return saveUpper(this.ctx, rec.id, await fs);
  }

  /** Drops stored layers no record names any more (a crash between record and layer removal). */
  async sweep(): Promise<void> {
    await sweepSnapshots(this.ctx);
  }

  // ---- logs (logs.ts) ----

  /** The container's log for a new run: it goes on from the earlier runs' and saves as it grows. */
  openLog(rec: ContainerRecord): Promise<ContainerLog> {
    return ContainerLog.open(this.ctx, rec);
  }

  /** Closes `log` and records it on the container with `patch` (the exit) in one transaction. */
  saveLog(id: string, log: ContainerLog, patch: (cur: ContainerRecord) => ContainerPatch): Promise<void> {
    return saveLogs(this.ctx, id, log, patch);
  }

  /** The log as last stored, from any process. */
  readLog(rec: ContainerRecord): Promise<LogEntry[]> {
    return readLogs(this.ctx, rec);
  }

  // ---- volumes ----

  /** `docker volume create`; without a name, an anonymous volume with a random one. Idempotent. */
  createVolume(o: { name?: string; labels?: Record<string, string> } = {}): Promise<VolumeRecord> {
    return createVolume(this.ctx, o);
  }

  volume(name: string): Promise<VolumeRecord> {
    return getVolume(this.ctx, name);
  }

  volumes(): Promise<VolumeRecord[]> {
    return this.ctx.state.list<VolumeRecord>('volumes');
  }

  /** The volume's filesystem: one live Overlay per volume per engine. */
  volumeFs(name: string): Promise<Overlay> {
    let fs = this.volumeFss.get(name);
    if (!fs) {
      fs = getVolume(this.ctx, name).then((rec) => openVolume(this.ctx, rec));
      this.volumeFss.set(name, fs);
      fs.catch(() => this.volumeFss.delete(name));
    }
    return fs;
  }

  /** Saves the live volume's content so later processes see it. */
  async persistVolume(name: string): Promise<VolumeRecord> {
    const fs = this.volumeFss.get(name);
    if (!fs) return getVolume(this.ctx, name);
    return saveVolume(this.ctx, name, await fs);
  }

  async removeVolume(name: string, force: boolean): Promise<void> {
    await removeVolume(this.ctx, name, force);
    this.volumeFss.delete(name);
  }

  async pruneVolumes(all: boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const r = await pruneVolumes(this.ctx, all);
    for (const n of r.deleted) this.volumeFss.delete(n);
    return r;
  }
}
