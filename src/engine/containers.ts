/**
 * Container records and writable layers, the functions under container-store.ts: a record in the
 * state store (with the spec resolved at create, migrated on read from older records) plus a
 * writable overlay over the image's merged layers. The overlay lives in memory while an engine
 * runs; its upper layer is saved to the snapshot store as it changes (engine/snapshots), so a
 * later process sees the writes.
 */
import { SkiffError } from '../errors.ts';
import type { ImageConfig } from '../oci/config.ts';
import type { ContainerSpec } from '../runtime/spec/container-spec.ts';
import type { RunOptions } from '../runtime/spec/options.ts';
import type { Overlay } from '../fs/overlay.ts';
import type { EngineContext } from './context.ts';
import { collectBlobs } from './images.ts';
import { withInitLayer } from './init-layer.ts';
import type { LayerCache } from './layers.ts';
import { checkLinks } from './network-links.ts';
import { dropSnapshot, openContainerUpper, saveContainerUpper } from './snapshots/engine-layers.ts';
import { containerSnapshot } from './snapshots/store.ts';
import { logsSnapshot } from './logs.ts';
import { bindEndpoints } from './networks.ts';
import { findContainer, fromStored } from './container-records.ts';
import type { ContainerId, ContainerRecord, ImageRecord } from './types.ts';

/**
 * `docker create`. `run` (runtime/spec RunOptions, e.g. from parseRunFlags) is the option set; the
 * direct fields are shorthands that win over it (`cmd` over `run.cmd`, `openStdin` over
 * `run.interactive` ...). Both become one ContainerSpec at create (runtime/spec container-spec.ts).
 */
export interface CreateContainerOptions {
  /** Image reference, digest or ID. */
  image: string;
  name?: string;
  /** Replaces the image's Cmd. */
  cmd?: string[];
  /** Replaces the image's Entrypoint (an empty array clears it). */
  entrypoint?: string[];
  /** KEY=value entries added to (and overriding) the image's Env. */
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  openStdin?: boolean;
  labels?: Record<string, string>;
  hostname?: string;
  /** Named volumes the container will mount (must exist; see Engine.createVolume). */
  volumes?: string[];
  /** Runtime to record; by default chosen from the image platform. */
  runtime?: string;
  runtimeData?: Record<string, unknown>;
  run?: RunOptions;
}

/** Web Crypto: the same in browsers, workers and Node. */
function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ADJ = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'quirky', 'sharp', 'tender', 'vivid', 'witty'];
const NOUN = ['babbage', 'curie', 'darwin', 'euler', 'feynman', 'gauss', 'hopper', 'knuth', 'lovelace', 'noether', 'pascal', 'ritchie', 'shannon', 'turing', 'wozniak', 'yalow'];

function randomName(taken: Set<string>): string {
  for (;;) {
    const b = randomBytes(3);
    const n = `${ADJ[b[0]! % ADJ.length]}_${NOUN[b[1]! % NOUN.length]}`;
    const name = taken.has(n) ? `${n}${b[2]! % 100}` : n;
    if (!taken.has(name)) return name;
  }
}

/** The one option set a create resolves: `run` with the direct shorthands over it. */
export function toRunOptions(o: CreateContainerOptions): RunOptions {
  return {
    ...(o.run ?? {}),
    ...(o.cmd ? { cmd: o.cmd } : {}), ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}),
    ...(o.env ? { env: o.env } : {}), ...(o.workdir ? { workdir: o.workdir } : {}),
    ...(o.user ? { user: o.user } : {}), ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.labels ? { labels: o.labels } : {}),
    ...(o.tty !== undefined ? { tty: o.tty } : {}), ...(o.openStdin !== undefined ? { interactive: o.openStdin } : {}),
  };
}

export function newContainerId(): ContainerId {
  return [...randomBytes(32)].map((x) => x.toString(16).padStart(2, '0')).join('') as ContainerId;
}

export interface NewContainer {
  id: ContainerId;
  /** The reference as the user wrote it. */
  imageRef: string;
  spec: ContainerSpec;
  runtime: string;
  name?: string;
  labels?: Record<string, string>;
  /** Named volumes it uses (must exist). */
  volumes?: string[];
  autoRemove?: boolean;
  runtimeData?: Record<string, unknown>;
}

export async function createContainerRecord(ctx: EngineContext, image: ImageRecord, config: ImageConfig, o: NewContainer): Promise<ContainerRecord> {
  if (o.name !== undefined && !NAME_RE.test(o.name)) {
    throw new SkiffError('INVALID_ARGUMENT', `Invalid container name (${o.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const id = o.id;
  return ctx.state.transaction(async (tx) => {
    const all = await tx.list<ContainerRecord>('containers');
    const name = o.name?.replace(/^\//, '') ?? randomName(new Set(all.map((c) => c.name)));
    const clash = all.find((c) => c.name === name);
    if (clash) {
      throw new SkiffError('CONFLICT', `Conflict. The container name "/${name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    if (!(await tx.get<ImageRecord>('images', image.digest))) throw new SkiffError('NOT_FOUND', `No such image: ${o.imageRef} (removed meanwhile)`);
    for (const v of o.volumes ?? []) {
      if (!(await tx.get('volumes', v))) throw new SkiffError('NOT_FOUND', `creating container ${name}: no such volume: ${v}`);
    }
    // Networks named and addresses allocated under the same lock as the record's write.
    const net = o.spec.network;
    await checkLinks(tx, net);
    const spec = net ? { ...o.spec, network: { ...net, endpoints: await bindEndpoints(tx, ctx.now, net.mode, net.endpoints, all.map(fromStored), id) } } : o.spec;
    const rec: ContainerRecord = {
      id, name, imageRef: o.imageRef, image: image.digest, imageId: image.id, platform: image.platform,
      spec, labels: { ...(config.config?.Labels ?? {}), ...(o.labels ?? {}) },
      runtime: o.runtime, state: 'created', created: ctx.now().toISOString(), upper: null,
      ...(o.autoRemove ? { autoRemove: true } : {}),
      ...(o.runtimeData ? { runtimeData: o.runtimeData } : {}),
      ...(o.volumes?.length ? { volumes: [...new Set(o.volumes)] } : {}),
    };
    await tx.put('containers', id, rec);
    return rec;
  });
}

/** Opens (or returns the live) overlay of a container. */
export async function openOverlay(ctx: EngineContext, layers: LayerCache, rec: ContainerRecord): Promise<Overlay> {
  const image = await ctx.state.get<ImageRecord>('images', rec.image);
  if (!image) throw new SkiffError('NOT_FOUND', `container ${rec.name}: its image ${rec.imageId} is gone`);
  const lower = await withInitLayer(await layers.tree(image), rec);
  return openContainerUpper(ctx, rec, lower);
}

/** Save what changed in the container's live writable layer (engine/snapshots); cost follows the change. */
export function saveUpper(ctx: EngineContext, id: ContainerId, fs: Overlay): Promise<ContainerRecord> {
  return saveContainerUpper(ctx, id, fs);
}

export async function deleteContainerRecord(ctx: EngineContext, ref: string, force: boolean): Promise<ContainerRecord> {
  const removed = await ctx.state.transaction(async (tx) => {
    const rec = await findContainer(tx, ref);
    if ((rec.state === 'running' || rec.state === 'paused') && !force) {
      throw new SkiffError('CONFLICT', `cannot remove container "${rec.name}": container is ${rec.state}: stop the container before removing or force remove`);
    }
    await tx.delete('containers', rec.id);
    await collectBlobs(ctx, tx, [...(rec.upper?.digest ? [rec.upper.digest] : []), ...(rec.logs?.digest ? [rec.logs.digest] : [])]);
    return rec;
  });
  // After the record: a crash in between leaves a snapshot no record names, which prune sweeps.
  for (const key of [containerSnapshot(removed.id), logsSnapshot(removed.id)]) await dropSnapshot(ctx, key).catch(() => {}); // held by a live process: swept by a later prune
  return removed;
}

export async function renameContainer(ctx: EngineContext, ref: string, name: string): Promise<ContainerRecord> {
  if (!NAME_RE.test(name)) throw new SkiffError('INVALID_ARGUMENT', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const clean = name.replace(/^\//, '');
  return ctx.state.transaction(async (tx) => {
    const rec = await findContainer(tx, ref);
    if (rec.name === clean) throw new SkiffError('INVALID_ARGUMENT', `Renaming a container with the same name as its current name`);
    const clash = (await tx.list<ContainerRecord>('containers')).find((c) => c.name === clean);
    if (clash) throw new SkiffError('CONFLICT', `Conflict. The container name "/${clean}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const next = { ...rec, name: clean };
    await tx.put('containers', rec.id, next);
    return next;
  });
}
