/**
 * Containers: a record in the state store plus a writable overlay over the image's merged layers.
 * The overlay lives in memory while this engine runs; `persistContainer` saves its upper layer as
 * an uncompressed tar diff blob (whiteouts included) so a later process sees the writes.
 */
import { SkiffError } from '../errors.ts';
import { putBlob } from '../content/store.ts';
import type { ImageConfig } from '../oci/config.ts';
import type { RunOptions } from '../runtime/spec/options.ts';
import { Overlay } from '../fs/overlay.ts';
import type { EngineContext } from './context.ts';
import { collectBlobs, loadConfig } from './images.ts';
import { withInitLayer } from './init-layer.ts';
import type { LayerCache } from './layers.ts';
import type { StateReader } from './state/store.ts';
import { parseTar } from './tar-io.ts';
import type { ContainerId, ContainerRecord, ImageRecord, ProcessSpec } from './types.ts';

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

export function runtimeFor(platform: string): string {
  if (platform.startsWith('wasi/')) return 'wasi';
  return 'vm';
}

export function processSpec(config: ImageConfig, o: CreateContainerOptions): ProcessSpec {
  const c = config.config ?? {};
  const env = new Map<string, string>();
  for (const e of [...(c.Env ?? []), ...(o.env ?? [])]) {
    const i = e.indexOf('=');
    if (i <= 0) throw new SkiffError('INVALID_ARGUMENT', `invalid environment variable "${e}": expected KEY=value`);
    env.set(e.slice(0, i), e.slice(i + 1));
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const entrypoint = o.entrypoint ?? c.Entrypoint ?? [];
  // Docker: a new entrypoint resets the image's Cmd.
  const cmd = o.cmd && o.cmd.length > 0 ? o.cmd : o.entrypoint !== undefined ? [] : c.Cmd ?? [];
  return {
    entrypoint, cmd,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    workdir: o.workdir ?? c.WorkingDir ?? '/',
    user: o.user ?? c.User ?? '',
    tty: o.tty ?? false,
    openStdin: o.openStdin ?? false,
  };
}

export async function findContainer(state: StateReader, ref: string): Promise<ContainerRecord> {
  if (!ref) throw new SkiffError('INVALID_ARGUMENT', 'container name or ID is empty');
  const byId = await state.get<ContainerRecord>('containers', ref);
  if (byId) return byId;
  const all = await state.list<ContainerRecord>('containers');
  const name = ref.replace(/^\//, '');
  const named = all.find((c) => c.name === name);
  if (named) return named;
  if (/^[0-9a-f]+$/.test(ref)) {
    const hits = all.filter((c) => c.id.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new SkiffError('INVALID_ARGUMENT', `container ID prefix "${ref}" is ambiguous: it matches ${hits.length} containers`);
  }
  throw new SkiffError('NOT_FOUND', `No such container: ${ref}`);
}

/** The create options a `docker run` option set implies (explicit options win over these). */
export function fromRunOptions(run: RunOptions | undefined): Partial<CreateContainerOptions> {
  if (!run) return {};
  return {
    ...(run.cmd ? { cmd: run.cmd } : {}), ...(run.entrypoint ? { entrypoint: run.entrypoint } : {}),
    ...(run.env ? { env: run.env } : {}), ...(run.workdir ? { workdir: run.workdir } : {}),
    ...(run.user ? { user: run.user } : {}), ...(run.name ? { name: run.name } : {}),
    ...(run.hostname ? { hostname: run.hostname } : {}), ...(run.labels ? { labels: run.labels } : {}),
    ...(run.tty !== undefined ? { tty: run.tty } : {}), ...(run.interactive !== undefined ? { openStdin: run.interactive } : {}),
  };
}

export async function createContainerRecord(ctx: EngineContext, image: ImageRecord, config: ImageConfig, o: CreateContainerOptions, extra: Pick<ContainerRecord, 'run' | 'mounts'> = {}): Promise<ContainerRecord> {
  if (o.name !== undefined && !NAME_RE.test(o.name)) {
    throw new SkiffError('INVALID_ARGUMENT', `Invalid container name (${o.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const spec = processSpec(config, o);
  if (spec.entrypoint.length === 0 && spec.cmd.length === 0) {
    throw new SkiffError('INVALID_ARGUMENT', `creating a container from ${o.image}: no command specified (the image has neither Entrypoint nor Cmd)`);
  }
  const id = [...randomBytes(32)].map((x) => x.toString(16).padStart(2, '0')).join('') as ContainerId;
  return ctx.state.transaction(async (tx) => {
    const all = await tx.list<ContainerRecord>('containers');
    const name = o.name?.replace(/^\//, '') ?? randomName(new Set(all.map((c) => c.name)));
    const clash = all.find((c) => c.name === name);
    if (clash) {
      throw new SkiffError('CONFLICT', `Conflict. The container name "/${name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    if (!(await tx.get<ImageRecord>('images', image.digest))) throw new SkiffError('NOT_FOUND', `No such image: ${o.image} (removed meanwhile)`);
    for (const v of o.volumes ?? []) {
      if (!(await tx.get('volumes', v))) throw new SkiffError('NOT_FOUND', `creating container ${name}: no such volume: ${v}`);
    }
    const rec: ContainerRecord = {
      id, name, imageRef: o.image, image: image.digest, imageId: image.id, platform: image.platform,
      process: spec, labels: { ...(config.config?.Labels ?? {}), ...(o.labels ?? {}) },
      hostname: o.hostname ?? id.slice(0, 12), runtime: o.runtime ?? runtimeFor(image.platform),
      state: 'created', created: ctx.now().toISOString(), upper: null,
      ...(o.runtimeData ? { runtimeData: o.runtimeData } : {}),
      ...(o.volumes?.length ? { volumes: [...new Set(o.volumes)] } : {}),
      ...extra,
    };
    await tx.put('containers', id, rec);
    return rec;
  });
}

/** Opens (or returns the live) overlay of a container. */
export async function openOverlay(ctx: EngineContext, layers: LayerCache, rec: ContainerRecord): Promise<Overlay> {
  const image = await ctx.state.get<ImageRecord>('images', rec.image);
  if (!image) throw new SkiffError('NOT_FOUND', `container ${rec.name}: its image ${rec.imageId} is gone`);
  const config = rec.runtime === 'vm' ? (await loadConfig(ctx, image)).config ?? {} : {};
  const lower = withInitLayer(await layers.tree(image), config, rec);
  if (!rec.upper) return new Overlay({ lower, now: () => ctx.now().getTime() });
  const blob = await ctx.content.get(rec.upper.digest);
  return Overlay.fromUpper({ lower, entries: parseTar(blob), now: () => ctx.now().getTime() });
}

/** Replace the container's saved upper layer with `tar` (an uncompressed diff). */
export async function saveUpper(ctx: EngineContext, id: ContainerId, tar: Uint8Array): Promise<ContainerRecord> {
  // The blob is written under the state lock: a prune elsewhere sweeps unreferenced blobs under
  // that lock too, so it cannot take this one between its write and the record naming it.
  return ctx.state.transaction(async (tx) => {
    const rec = await tx.get<ContainerRecord>('containers', id);
    if (!rec) throw new SkiffError('NOT_FOUND', `No such container: ${id}`);
    const info = await putBlob(ctx.content, tar);
    const old = rec.upper?.digest;
    const next: ContainerRecord = { ...rec, upper: { digest: info.digest, size: info.size } };
    await tx.put('containers', id, next);
    if (old && old !== info.digest) await collectBlobs(ctx, tx, [old]);
    return next;
  });
}

export async function deleteContainerRecord(ctx: EngineContext, ref: string, force: boolean): Promise<ContainerRecord> {
  return ctx.state.transaction(async (tx) => {
    const rec = await findContainer(tx, ref);
    if ((rec.state === 'running' || rec.state === 'paused') && !force) {
      throw new SkiffError('CONFLICT', `cannot remove container "${rec.name}": container is ${rec.state}: stop the container before removing or force remove`);
    }
    await tx.delete('containers', rec.id);
    await collectBlobs(ctx, tx, [...(rec.upper ? [rec.upper.digest] : []), ...(rec.logs ? [rec.logs.digest] : [])]);
    return rec;
  });
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
