/**
 * Named volumes: a filesystem that outlives containers. Live as an Overlay (empty lower until the
 * first save); saved as one tar blob of the whole tree, so any later engine sees its content.
 * Containers name the volumes they use in `ContainerRecord.volumes`; a used volume is not removed.
 */
import { SkiffError } from '../errors.ts';
import { putBlob } from '../content/store.ts';
import { applyLayer } from '../fs/layer.ts';
import { Overlay } from '../fs/overlay.ts';
import type { EngineContext } from './context.ts';
import { collectBlobs } from './images.ts';
import { parseTar } from './tar-io.ts';
import type { ContainerRecord, VolumeRecord } from './types.ts';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export async function createVolume(ctx: EngineContext, o: { name?: string; labels?: Record<string, string> }): Promise<VolumeRecord> {
  const anonymous = o.name === undefined;
  const name = o.name ?? [...globalThis.crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (!NAME_RE.test(name)) {
    throw new SkiffError('INVALID_ARGUMENT', `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
  }
  return ctx.state.transaction(async (tx) => {
    const existing = await tx.get<VolumeRecord>('volumes', name);
    if (existing) return existing; // Docker: creating an existing volume returns it
    const rec: VolumeRecord = { name, created: ctx.now().toISOString(), labels: o.labels ?? {}, anonymous, data: null };
    await tx.put('volumes', name, rec);
    return rec;
  });
}

export async function getVolume(ctx: EngineContext, name: string): Promise<VolumeRecord> {
  const v = await ctx.state.get<VolumeRecord>('volumes', name);
  if (!v) throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
  return v;
}

export async function openVolume(ctx: EngineContext, rec: VolumeRecord): Promise<Overlay> {
  const now = (): number => ctx.now().getTime();
  if (!rec.data) return new Overlay({ lower: null, now });
  const lower = applyLayer(null, parseTar(await ctx.content.get(rec.data.digest)));
  return new Overlay({ lower, now });
}

export async function saveVolume(ctx: EngineContext, name: string, tar: Uint8Array): Promise<VolumeRecord> {
  // Written under the state lock, like a container's layer (see containers.ts saveUpper).
  return ctx.state.transaction(async (tx) => {
    const rec = await tx.get<VolumeRecord>('volumes', name);
    if (!rec) throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
    const info = await putBlob(ctx.content, tar);
    const next: VolumeRecord = { ...rec, data: { digest: info.digest, size: info.size } };
    await tx.put('volumes', name, next);
    if (rec.data && rec.data.digest !== info.digest) await collectBlobs(ctx, tx, [rec.data.digest]);
    return next;
  });
}

function users(containers: ContainerRecord[], name: string): ContainerRecord[] {
  return containers.filter((c) => c.volumes?.includes(name));
}

export async function removeVolume(ctx: EngineContext, name: string, force: boolean): Promise<void> {
  await ctx.state.transaction(async (tx) => {
    const rec = await tx.get<VolumeRecord>('volumes', name);
    if (!rec) {
      if (force) return;
      throw new SkiffError('NOT_FOUND', `get ${name}: no such volume`);
    }
    const using = users(await tx.list<ContainerRecord>('containers'), name);
    if (using.length > 0) {
      throw new SkiffError('IN_USE', `remove ${name}: volume is in use - [${using.map((c) => c.id).join(', ')}]`);
    }
    await tx.delete('volumes', name);
    if (rec.data) await collectBlobs(ctx, tx, [rec.data.digest]);
  });
}

/** Removes volumes no container uses; like Docker, only anonymous ones unless `all`. */
export async function pruneVolumes(ctx: EngineContext, all: boolean): Promise<{ deleted: string[]; reclaimed: number }> {
  return ctx.state.transaction(async (tx) => {
    const containers = await tx.list<ContainerRecord>('containers');
    const out = { deleted: [] as string[], reclaimed: 0 };
    for (const v of await tx.list<VolumeRecord>('volumes')) {
      if ((!all && !v.anonymous) || users(containers, v.name).length > 0) continue;
      await tx.delete('volumes', v.name);
      if (v.data) {
        await collectBlobs(ctx, tx, [v.data.digest]);
        out.reclaimed += v.data.size;
      }
      out.deleted.push(v.name);
    }
    return out;
  });
}
