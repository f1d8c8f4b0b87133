/**
 * The Engine's verbs on a container's files and record beyond its process (rename, commit,
 * export, `cp` both ways, diff), kept here so engine.ts only forwards to them: each is the
 * operation of container-store.ts, commit.ts or container-copy.ts, plus Docker's events for it,
 * and what a running container needs first (its layer saved, its guest's cache dropped).
 */
import { SkiffError } from '../errors.ts';
import type { ContainerConfig } from '../oci/config.ts';
import { normalizeReference } from '../oci/reference.ts';
import { commitImage } from './commit.ts';
import { commitConfig, commitCreatedBy, containerConfigOf } from './commit-config.ts';
import { entriesAt, extractInto, statPath, type PathStat } from './container-copy.ts';
import { openContainerView } from './container-mounts.ts';
import type { EngineParts } from './engine-parts.ts';
import { exportEntriesAsync, fsChanges, materializeTree, upperDiff, type Change } from './fs-io.ts';
import { familiarRef } from './image-ops.ts';
import { parseTar, writeTarChunks, writeTarChunksAsync } from './tar-io.ts';
import type { ContainerRecord, ImageRecord } from './types.ts';

export interface CommitContainerOptions {
  id: string;
  /** The new image's tag. */
  ref?: string;
  author?: string;
  message?: string;
  /** Dockerfile lines (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR). */
  changes?: string[];
  /** The API body: a config used in place of the container's (what it leaves empty still comes from the container). */
  config?: ContainerConfig;
  /** Default true: a running container is frozen while its layer is read. */
  pause?: boolean;
}

/** `docker rename`. */
export async function engineRename(e: EngineParts, options: { id: string; name: string }): Promise<ContainerRecord> {
  const before = await e.containers.get(options.id);
  const rec = await e.containers.rename(options.id, options.name);
  e.events.container(rec, 'rename', { oldName: `/${before.name}` });
  return rec;
}

/**
 * `docker commit`: a new image = the container's image + its writable layer, configured as
 * Docker's daemon does (commit-config.ts): the container's Config (or `config`, the API body),
 * `changes` applied as Dockerfile lines, merged over the container's Config. A running container
 * is paused while its layer is read unless `pause` is false (Docker ignores a pause that fails:
 * a runtime without a freezer commits unpaused); it is unpaused after, even when the commit fails.
 */
export async function engineCommit(e: EngineParts, options: CommitContainerOptions): Promise<ImageRecord> {
  const rec = await e.lifecycle.inspect(options.id);
  if (rec.state === 'dead') throw new SkiffError('CONFLICT', `You cannot commit container ${rec.id} which is Dead`);
  // A bad reference is refused before anything is paused or written.
  const tag = options.ref !== undefined ? normalizeReference(options.ref) : undefined;
  const image = await e.ctx.state.get<ImageRecord>('images', rec.image);
  if (!image) throw new SkiffError('NOT_FOUND', `committing ${rec.name}: its image ${rec.imageId} is gone`);
  const parent = await e.images.config(image);
  // What the Engine API recorded at create (api/create-body.ts RECORDED): Config.ExposedPorts.
  const recorded = (rec.runtimeData?.['dockerApi'] as { exposedPorts?: Record<string, unknown> } | undefined)?.exposedPorts;
  const own = containerConfigOf(rec, parent.config ?? {}, recorded);
  const config = await commitConfig(own, { ...(options.config ? { body: options.config } : {}), ...(options.changes ? { changes: options.changes } : {}) });
  let paused = false;
  if (options.pause !== false && rec.state === 'running') {
    paused = await e.lifecycle.freeze(rec.id, true).then(() => true, () => false);
  }
  try {
    const made = await commitImage(e.ctx, {
      parent: { image, config: parent }, ...(await containerDiff(e, rec)),
      config, replaceConfig: true, container: { id: rec.id, config: own },
      history: { created_by: commitCreatedBy(own), ...(options.message ? { comment: options.message } : {}) },
      ...(options.author ? { author: options.author } : {}),
      ...(tag ? { tag } : {}),
      source: `commit:${rec.id}`,
    });
    e.events.container(rec, 'commit', { comment: options.message ?? '', imageID: made.id, imageRef: tag ? familiarRef(tag) : '' });
    if (tag) e.events.image('tag', made.id, familiarRef(tag));
    return made;
  } finally {
    if (paused) await e.lifecycle.freeze(rec.id, false).catch(() => {});
  }
}

/**
 * The writable layer as a tar, none when nothing changed (Docker then records an empty_layer
 * history entry and no layer). A container another process runs is asked to save its live
 * layer first (control op `persist`): what it wrote up to now is in the commit.
 */
async function containerDiff(e: EngineParts, rec: ContainerRecord): Promise<{ layer?: Uint8Array }> {
  await e.lifecycle.persistLayer(rec.id);
  const fs = await e.containers.fs(rec.id);
  // diffUpper reads synchronously: image bytes of changed files from an async store come first.
  await materializeTree(fs.upperTree.root);
  const tar = collect(writeTarChunks(upperDiff(fs)));
  return parseTar(tar).length === 0 ? {} : { layer: tar };
}

/** The container's merged filesystem as one tar (`docker export`). */
export async function engineExport(e: EngineParts, options: { id: string }): Promise<AsyncIterable<Uint8Array>> {
  const fs = await e.containers.fs(options.id);
  e.events.container(await e.containers.get(options.id), 'export');
  return writeTarChunksAsync(exportEntriesAsync(fs));
}

/** `docker cp`'s stat of a path in the container (Docker's PathStat). */
export async function engineStatPath(e: EngineParts, options: { id: string; path: string }): Promise<PathStat> {
  return statPath(await openContainerView(e, await e.containers.get(options.id)), options.path);
}

/** `docker cp` out: the tree at `path` as a tar whose entries are named from its last component. */
export async function engineCopyFrom(e: EngineParts, options: { id: string; path: string }): Promise<{ stat: PathStat; tar: AsyncIterable<Uint8Array> }> {
  const fs = await openContainerView(e, await e.containers.get(options.id));
  const stat = statPath(fs, options.path);
  e.events.container(await e.containers.get(options.id), 'archive-path', { path: options.path });
  return { stat, tar: writeTarChunksAsync(entriesAt(fs, options.path)) };
}

/** `docker cp` in: a tar extracted into the directory at `path`, then saved with the writable layer. */
export async function engineCopyInto(e: EngineParts, options: { id: string; path: string; tar: Uint8Array | AsyncIterable<Uint8Array>; noOverwriteDirNonDir?: boolean }): Promise<void> {
  const rec = await e.lifecycle.inspect(options.id);
  const bytes = options.tar instanceof Uint8Array ? options.tar : collect(await fromAsync(options.tar));
  let entries;
  try {
    entries = parseTar(bytes);
  } catch (err) {
    throw new SkiffError('INVALID_ARCHIVE', `not a tar archive: ${err instanceof Error ? err.message : String(err)}`);
  }
  const view = await openContainerView(e, rec);
  extractInto(view, options.path, entries, { noOverwriteDirNonDir: options.noOverwriteDirNonDir ?? false, readOnlyRoot: rec.spec.security.readOnlyRootfs });
  // Before it returns: the container sees the copy at once, not what its guest cached before.
  await e.lifecycle.filesChanged(rec.id);
  await e.containers.persist(rec.id);
  // The volumes too (a copy may have reached into one): later processes see it as this one does.
  for (const m of rec.spec.mounts) if (m.type === 'volume' && !m.readOnly) await e.containers.persistVolume(m.name);
  e.events.container(rec, 'extract-to-dir', { path: options.path });
}

/** `docker diff`: paths added (A), changed (C) and deleted (D) in the writable layer. */
export async function engineChanges(e: EngineParts, options: { id: string }): Promise<Change[]> {
  return fsChanges(await e.containers.fs(options.id));
}

function collect(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [...chunks];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

async function fromAsync(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return parts;
}
