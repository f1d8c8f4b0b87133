/**
 * The public engine: images and containers over a content store and a state store. The CLI and the
 * browser worker call this; every method takes one options object and throws `SkiffError`s.
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import type { Overlay } from '../fs/overlay.ts';
import type { FileSystem } from '../fs/types.ts';
import type { ContainerConfig } from '../oci/config.ts';
import type { Digest } from '../oci/digest.ts';
import { normalizeReference, parseReference } from '../oci/reference.ts';
import { commitImage, importImage, type ImportImageOptions } from './commit.ts';
import {
  createContainerRecord, deleteContainerRecord, findContainer, fromStored, newContainerId, openOverlay, renameContainer, saveUpper,
  toRunOptions, type CreateContainerOptions,
} from './containers.ts';
import type { EngineContext } from './context.ts';
import { exportEntries, fsChanges, upperDiff, type Change } from './fs-io.ts';
import {
  diskUsage, history, inspectImage, listImages, loadConfig, pruneImages, removeImage, resolveImage,
  rollbackImage, tagImage, type DiskUsage, type HistoryRow, type ImageSummary, type RemoveResult,
} from './images.ts';
import { LayerCache, type LayerCacheOptions } from './layers.ts';
import type { ControlPlane } from './control/types.ts';
import { Lifecycle, type ExecOptions, type LogEntry, type RuntimeFactories, type StartOptions } from './lifecycle.ts';
import { resolveContainerSpec } from '../runtime/spec/container-spec.ts';
import type { ExitStatus, ProcessIO, RuntimeProcess } from '../runtime/types.ts';
import { loadArchive, type LoadArchiveOptions, type LoadResult } from './load/loader.ts';
import { findImage } from './resolve.ts';
import { chooseRuntime } from './runtimes.ts';
import { saveArchiveChunks, type ArchiveFormat, type SaveItem } from './save.ts';
import type { StateStore } from './state/store.ts';
import { writeTarChunks } from './tar-io.ts';
import type { ContainerId, ContainerRecord, ImageRecord, TagRecord, VolumeRecord } from './types.ts';
import { closeAllLive } from './snapshots/live.ts';
import { defaultSnapshots, sweepSnapshots } from './snapshots/engine-layers.ts';
import type { SnapshotStore } from './snapshots/store.ts';
import type { RegistryClient } from '../registry/client.ts';
import { engineLogin, engineLogout, enginePull, enginePush, engineTags, type LoginOptions, type PullImageOptions, type PushImageOptions } from '../registry/engine-ops.ts';
import { build as runBuild, CACHE_VOLUME_PREFIX, cacheUsage, pruneCache, runStepInContainer, type BuildOptions, type BuildResult } from '../build/index.ts';
import { createVolume, getVolume, openVolume, pruneVolumes, removeVolume, saveVolume } from './volumes.ts';

/** Where bundled images (skiff/busybox, ...) come from when they are not in the store yet. */
export interface BundledImages {
  /** An archive for a fully qualified reference, or undefined if none is bundled under that name. */
  find(ref: string): Promise<{ name: string; data: Uint8Array } | undefined>;
  /** Names of the bundled images (for hints in "No such image" errors). */
  names?(): Promise<string[]>;
}

/** Opens a directory of the host for a bind mount (src/node.ts); absent where there is none (browsers). */
export type HostDirFactory = (o: { path: string; readOnly: boolean }) => FileSystem;

export interface EngineOptions {
  content: ContentStore;
  state: StateStore;
  /** Writable layers and volumes; default: in memory beside `state`. */
  snapshots?: SnapshotStore;
  bundled?: BundledImages;
  now?: () => Date;
  /** Bounds of the merged-layer-tree cache. */
  layerCache?: LayerCacheOptions;
  /** Container runtimes by name ('vm', 'wasi'), created on first use. */
  runtimes?: RuntimeFactories;
  /** Bind mounts (`-v /host/dir:/dest`); without it they are refused. */
  hostDir?: HostDirFactory;
  /** How other processes reach the containers this engine runs, and it theirs (Node: engine/control/node.ts). */
  control?: ControlPlane;
  /** Registry access (pull, push, login); without it those are refused. */
  registry?: RegistryClient;
}

export class Engine {
  readonly ctx: EngineContext;
  readonly bundled: BundledImages | undefined;
  private readonly layers: LayerCache;
  private readonly overlays = new Map<ContainerId, Promise<Overlay>>();
  private readonly volumeFss = new Map<string, Promise<Overlay>>();
  private readonly lifecycle: Lifecycle;
  private readonly registry: RegistryClient | undefined;

  constructor(options: EngineOptions) {
    this.ctx = { content: options.content, state: options.state, snapshots: options.snapshots ?? defaultSnapshots(options.state), now: options.now ?? (() => new Date()) };
    this.bundled = options.bundled;
    this.registry = options.registry;
    this.layers = new LayerCache(options.content, options.layerCache);
    this.lifecycle = new Lifecycle(this, options.runtimes ?? {}, options.hostDir, options.control);
  }

  // ---- images ----

  loadArchive(options: LoadArchiveOptions): Promise<LoadResult> {
    return loadArchive(this.ctx, options);
  }

  // Registry verbs: registry/engine-ops.ts.
  pullImage(options: PullImageOptions) { return enginePull(this.ctx, this.registry, options); }
  pushImage(options: PushImageOptions) { return enginePush(this.ctx, this.registry, options); }
  login(options: LoginOptions) { return engineLogin(this.registry, options); }
  logout(options: { registry?: string } = {}) { return engineLogout(this.registry, options); }
  registryTags(options: { ref: string }) { return engineTags(this.registry, options); }

  listImages(options: { reference?: string } = {}): Promise<ImageSummary[]> {
    return listImages(this.ctx, options);
  }

  /** The image record for a reference, ID or digest; loads a bundled image on first use. */
  async resolveImage(options: { ref: string }): Promise<ImageRecord> {
    const found = await findImage(this.ctx.state, options.ref);
    if (found) return found.image;
    if (this.bundled) {
      let full: string | undefined;
      try {
        full = normalizeReference(options.ref);
      } catch {
        full = undefined;
      }
      const b = full ? await this.bundled.find(full) : undefined;
      if (b) {
        await this.loadArchive({ data: b.data, name: b.name, source: `bundled:${b.name}` });
        const again = await findImage(this.ctx.state, options.ref);
        if (again) return again.image;
      }
    }
    try {
      return (await resolveImage(this.ctx, options.ref)).image;
    } catch (err) {
      const names = await this.bundled?.names?.().catch(() => []);
      if (err instanceof SkiffError && err.code === 'NOT_FOUND' && names?.length) {
        throw new SkiffError('NOT_FOUND', `${err.message} (no registry access yet; bundled images: ${names.join(', ')})`, { cause: err });
      }
      throw err;
    }
  }

  async inspectImage(options: { ref: string }): Promise<Record<string, unknown>> {
    await this.resolveImage(options);
    return inspectImage(this.ctx, options.ref);
  }

  async imageConfig(options: { ref: string }) {
    return loadConfig(this.ctx, await this.resolveImage(options));
  }

  async history(options: { ref: string }): Promise<HistoryRow[]> {
    await this.resolveImage(options);
    return history(this.ctx, options.ref);
  }

  async tag(options: { source: string; target: string }): Promise<string> {
    await this.resolveImage({ ref: options.source });
    return tagImage(this.ctx, options.source, options.target);
  }

  /** `docker rmi`: untag, and delete the image when no tag and no container is left. */
  removeImage(options: { ref: string; force?: boolean }): Promise<RemoveResult> {
    return removeImage(this.ctx, options.ref, options.force ?? false);
  }

  /** Remove one tag only (never the image). */
  async untag(options: { ref: string }): Promise<void> {
    const ref = normalizeReference(options.ref);
    await this.ctx.state.transaction(async (tx) => {
      if (!(await tx.get<TagRecord>('tags', ref))) throw new SkiffError('NOT_FOUND', `No such image: ${options.ref}`);
      await tx.delete('tags', ref);
    });
  }

  pruneImages(options: { all?: boolean } = {}) {
    return pruneImages(this.ctx, options);
  }

  diskUsage(): Promise<DiskUsage> {
    return diskUsage(this.ctx);
  }

  /** Where a tag points and pointed, newest first (`at`: when it started pointing there). */
  async tagHistory(options: { ref: string }): Promise<Array<{ digest: Digest; at: string }>> {
    const full = normalizeReference(options.ref);
    const t = await this.ctx.state.get<TagRecord>('tags', full);
    if (!t) throw new SkiffError('NOT_FOUND', `No such image: ${options.ref}`);
    return [...t.history, { digest: t.digest, at: t.updatedAt }].reverse();
  }

  rollbackImage(options: { ref: string; to?: Digest }) {
    return rollbackImage(this.ctx, options.ref, options.to);
  }

  /** The archive as chunks; nothing is read until iterated. Refs are resolved first (NOT_FOUND early). */
  async saveArchive(options: { refs: string[]; format?: ArchiveFormat }): Promise<AsyncIterable<Uint8Array>> {
    if (options.refs.length === 0) throw new SkiffError('INVALID_ARGUMENT', 'save: name at least one image');
    const items = new Map<Digest, SaveItem>();
    for (const ref of options.refs) {
      const image = await this.resolveImage({ ref });
      const item = items.get(image.digest) ?? { image, tags: [] };
      // A tag reference saves that tag; an ID saves every tag the image has, as docker save does.
      let tags: string[] = [];
      try {
        const p = parseReference(ref);
        if (p.tag !== undefined && !p.digest && !/^[0-9a-f]{1,64}$/.test(ref)) tags = [normalizeReference(ref)];
      } catch {
        tags = [];
      }
      if (tags.length === 0 || !(await this.ctx.state.get<TagRecord>('tags', tags[0]!))) {
        tags = (await this.ctx.state.list<TagRecord>('tags')).filter((t) => t.digest === image.digest).map((t) => t.ref);
      }
      for (const t of tags) if (!item.tags.includes(t)) item.tags.push(t);
      items.set(image.digest, item);
    }
    return saveArchiveChunks(this.ctx, [...items.values()], options.format ?? 'docker');
  }

  /** `docker build` (src/build): RUN steps run as containers of this engine. */
  build(options: BuildOptions): Promise<BuildResult> {
    return runBuild({
      ctx: this.ctx,
      tree: (layers) => this.layers.tree({ id: 'sha256:build', layers } as unknown as ImageRecord),
      resolveImage: (ref) => this.resolveImage({ ref }),
      rawConfig: async (image) => JSON.parse(new TextDecoder().decode(await this.ctx.content.get(image.config.digest))),
      runStep: (o) => runStepInContainer(this, o),
    }, options);
  }

  /** `builder prune`: the build cache and the layers only it kept. */
  async pruneBuildCache(): Promise<{ deleted: number; reclaimed: number }> {
    const r = await pruneCache(this.ctx);
    // RUN --mount=type=cache volumes go too.
    for (const v of await this.listVolumes()) {
      if (v.name.startsWith(CACHE_VOLUME_PREFIX)) await this.removeVolume({ name: v.name, force: true }).then(() => { r.deleted++; r.reclaimed += v.data?.size ?? 0; }, () => {});
    }
    return r;
  }

  buildCacheUsage(): Promise<{ total: number; size: number }> {
    return cacheUsage(this.ctx);
  }

  // ---- containers ----

  /**
   * A container with its own writable layer, not started: its spec is resolved now, once (Docker's
   * rules and errors, runtime/spec container-spec.ts), and the volumes it mounts (its `-v` ones,
   * the image's Volumes) are created.
   */
  async createContainer(options: CreateContainerOptions): Promise<ContainerRecord> {
    const image = await this.resolveImage({ ref: options.image });
    const config = await loadConfig(this.ctx, image);
    // Before anything is created: an image no runtime can run is refused here.
    const runtime = options.runtime ?? (await chooseRuntime(this.ctx, image, config, options.image));
    const run = toRunOptions(options);
    const id = newContainerId();
    const spec = resolveContainerSpec({ id, image: config.config ?? {}, run });
    for (const m of spec.mounts) if (m.type === 'volume') m.name = (await this.createVolume(m.anonymous ? {} : { name: m.name })).name;
    const volumes = [...new Set([...(options.volumes ?? []), ...spec.mounts.flatMap((m) => (m.type === 'volume' ? [m.name] : []))])];
    return createContainerRecord(this.ctx, image, config, {
      id, imageRef: options.image, spec, runtime,
      ...(options.name !== undefined ? { name: options.name } : run.name ? { name: run.name } : {}),
      ...(run.labels ? { labels: run.labels } : {}), ...(volumes.length ? { volumes } : {}),
      ...(run.rm ? { autoRemove: true } : {}), ...(options.runtimeData ? { runtimeData: options.runtimeData } : {}),
    });
  }

  /** The record; one left "running" by a skiff process that is gone reads as exited. */
  async inspectContainer(options: { id: string }): Promise<ContainerRecord> {
    return this.lifecycle.reconcile(await findContainer(this.ctx.state, options.id));
  }

  async listContainers(options: { all?: boolean } = {}): Promise<ContainerRecord[]> {
    const all = await Promise.all((await this.ctx.state.list<ContainerRecord>('containers')).map((c) => this.lifecycle.reconcile(fromStored(c))));
    const shown = options.all ? all : all.filter((c) => c.state === 'running' || c.state === 'paused');
    return shown.sort((a, b) => b.created.localeCompare(a.created));
  }

  /** The container's root filesystem (one live Overlay per container per engine), for runtimes. */
  async containerFs(options: { id: string } | string): Promise<Overlay> {
    const rec = await findContainer(this.ctx.state, typeof options === 'string' ? options : options.id);
    let fs = this.overlays.get(rec.id);
    // A read-only view (another process was writing it) is not kept: it would go stale.
    if (!fs || (await fs.catch(() => null))?.readOnly) {
      fs = openOverlay(this.ctx, this.layers, rec);
      this.overlays.set(rec.id, fs);
      fs.catch(() => this.overlays.delete(rec.id));
    }
    return fs;
  }

  /** Save the live overlay's writable layer so later processes see the writes. */
  async persistContainer(options: { id: string }): Promise<ContainerRecord> {
    const rec = await findContainer(this.ctx.state, options.id);
    const fs = this.overlays.get(rec.id);
    if (!fs) return rec;
    return saveUpper(this.ctx, rec.id, await fs);
  }

  /** `docker rename`. */
  renameContainer(options: { id: string; name: string }): Promise<ContainerRecord> {
    return renameContainer(this.ctx, options.id, options.name);
  }

  /** Patch the record (state, exit code, runtime data): for runtimes. */
  async updateContainer(options: { id: string; patch: Partial<Omit<ContainerRecord, 'id' | 'image' | 'imageId'>> }): Promise<ContainerRecord> {
    return this.ctx.state.transaction(async (tx) => {
      const rec = await findContainer(tx, options.id);
      const next = { ...rec, ...options.patch };
      await tx.put('containers', rec.id, next);
      return next;
    });
  }

  /**
   * `docker commit`: a new image = the container's image + its writable layer (+ config changes),
   * tagged `ref` when given. The container is left as it is.
   */
  async commitContainer(options: { id: string; ref?: string; author?: string; message?: string; changes?: Partial<ContainerConfig> }): Promise<ImageRecord> {
    const rec = await findContainer(this.ctx.state, options.id);
    const image = await this.ctx.state.get<ImageRecord>('images', rec.image);
    if (!image) throw new SkiffError('NOT_FOUND', `committing ${rec.name}: its image ${rec.imageId} is gone`);
    const config = await loadConfig(this.ctx, image);
    const fs = await this.containerFs({ id: rec.id });
    const layer = await collect(writeTarChunks(upperDiff(fs)));
    return commitImage(this.ctx, {
      parent: { image, config }, layer,
      ...(options.changes ? { config: options.changes } : {}),
      history: { created_by: rec.spec.args.join(' '), ...(options.message ? { comment: options.message } : {}) },
      ...(options.author ? { author: options.author } : {}),
      ...(options.ref ? { tag: options.ref } : {}),
      source: `commit:${rec.id}`,
    });
  }

  /** The container's merged filesystem as one tar (`docker export`). */
  async exportContainer(options: { id: string }): Promise<AsyncIterable<Uint8Array>> {
    const fs = await this.containerFs(options);
    return toAsync(writeTarChunks(exportEntries(fs)));
  }

  /** `docker diff`: paths added (A), changed (C) and deleted (D) in the writable layer. */
  async containerChanges(options: { id: string }): Promise<Change[]> {
    return fsChanges(await this.containerFs(options));
  }

  async removeContainer(options: { id: string; force?: boolean }): Promise<ContainerRecord> {
    const cur = await this.inspectContainer({ id: options.id });
    if (this.lifecycle.isRunning(cur.id) || (cur.state === 'running' && options.force)) {
      if (!options.force) throw new SkiffError('CONFLICT', `cannot remove container "${cur.name}": container is running: stop the container before removing or force remove`);
      await this.lifecycle.kill(cur.id).catch(() => {});
      // Another process's container: its exit (and saved layer) is waited for, within reason.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.lifecycle.wait(cur.id).catch(() => {}), new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
    }
    const rec = await deleteContainerRecord(this.ctx, cur.id, options.force ?? false);
    this.overlays.delete(rec.id);
    return rec;
  }

  /** `docker container prune`: removes every container that is not running or paused. */
  async pruneContainers(): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
    const out = { deleted: [] as ContainerId[], reclaimed: 0 };
    for (const c of await this.ctx.state.list<ContainerRecord>('containers')) {
      if (c.state === 'running' || c.state === 'paused') continue;
      await this.removeContainer({ id: c.id }).then(() => {
        out.deleted.push(c.id);
        out.reclaimed += c.upper?.size ?? 0;
      }, () => {});
    }
    await sweepSnapshots(this.ctx);
    return out;
  }

  /** `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image. */
  importImage(options: ImportImageOptions): Promise<ImageRecord> {
    return importImage(this.ctx, options);
  }

  // ---- lifecycle (over the runtimes given at construction) ----

  /** Start the container's process on its runtime; `wait()` resolves after the exit is recorded. */
  startContainer(options: { id: string } & StartOptions): Promise<RuntimeProcess> {
    const { id, ...o } = options;
    return this.lifecycle.start(id, o);
  }

  /** How the container's process ended (waits while it runs in this engine). */
  waitContainer(options: { id: string }): Promise<ExitStatus> {
    return this.lifecycle.wait(options.id);
  }

  killContainer(options: { id: string; signal?: string | number }): Promise<void> {
    return this.lifecycle.kill(options.id, options.signal);
  }

  /** `docker container resize`: the TTY size of the container's main process. */
  resizeContainer(options: { id: string; cols: number; rows: number }): Promise<void> {
    return this.lifecycle.resize(options.id, { cols: options.cols, rows: options.rows });
  }

  /** `docker stop`: the stop signal, then SIGKILL after `timeout` seconds. */
  stopContainer(options: { id: string; timeout?: number; signal?: string }): Promise<ExitStatus | undefined> {
    return this.lifecycle.stop(options.id, options.timeout, options.signal);
  }

  async restartContainer(options: { id: string; timeout?: number } & StartOptions): Promise<RuntimeProcess> {
    const { id, timeout, ...o } = options;
    await this.lifecycle.stop(id, timeout);
    return this.lifecycle.start(id, o);
  }

  /** Whether this engine runs the container (its VM or worker is in this process/page). */
  isContainerLive(options: { id: string }): boolean {
    return this.lifecycle.isRunning(options.id);
  }

  /** Run another process in a running container. */
  execContainer(options: { id: string } & ExecOptions): Promise<RuntimeProcess> {
    const { id, ...o } = options;
    return this.lifecycle.exec(id, o);
  }

  /** Output of the running process or of its last run, with timestamps. */
  containerLogs(options: { id: string }): Promise<LogEntry[]> {
    return this.lifecycle.logs(options.id);
  }

  /**
   * `logs -f`: the output so far, then `onEntry` for each new chunk until the container exits
   * (`done()` resolves then; a method, so the result crosses the worker boundary like a process).
   */
  async followContainerLogs(options: { id: string; onEntry: (e: LogEntry) => void }): Promise<{ entries: LogEntry[]; done(): Promise<void> }> {
    const r = await this.lifecycle.followLogs(options.id, options.onEntry);
    return { entries: r.entries, done: () => r.done };
  }

  /**
   * `docker run`: create, start, feed `stdin` (then EOF) when given, wait. With `run.rm` the
   * container is gone afterwards.
   */
  async runContainer(options: CreateContainerOptions & { io?: ProcessIO; stdin?: Uint8Array | string; consoleSize?: { cols: number; rows: number } }): Promise<{ id: ContainerId; name: string; exit: ExitStatus }> {
    const { io, stdin, consoleSize, ...create } = options;
    const withStdin = stdin !== undefined ? { ...create, openStdin: true } : create;
    const rec = await this.createContainer(withStdin);
    const proc = await this.lifecycle.start(rec.id, { ...(io ? { io } : {}), ...(consoleSize ? { consoleSize } : {}) });
    if (stdin !== undefined) {
      proc.writeStdin(typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin);
      proc.closeStdin();
    }
    return { id: rec.id, name: rec.name, exit: await proc.wait() };
  }

  /** Stop every running container and the runtimes (VM, workers). */
  async shutdown(): Promise<void> {
    await this.lifecycle.shutdown();
    await closeAllLive(this.ctx.snapshots);
  }

  // ---- volumes ----

  /** `docker volume create`; without a name, an anonymous volume with a random one. Idempotent. */
  createVolume(options: { name?: string; labels?: Record<string, string> } = {}): Promise<VolumeRecord> {
    return createVolume(this.ctx, options);
  }

  inspectVolume(options: { name: string }): Promise<VolumeRecord> {
    return getVolume(this.ctx, options.name);
  }

  async listVolumes(): Promise<VolumeRecord[]> {
    return this.ctx.state.list<VolumeRecord>('volumes');
  }

  /** The volume's filesystem (one live Overlay per volume per engine), for runtimes to mount. */
  async volumeFs(options: { name: string }): Promise<Overlay> {
    let fs = this.volumeFss.get(options.name);
    if (!fs) {
      fs = getVolume(this.ctx, options.name).then((rec) => openVolume(this.ctx, rec));
      this.volumeFss.set(options.name, fs);
      fs.catch(() => this.volumeFss.delete(options.name));
    }
    return fs;
  }

  /** Save the live volume's content so later processes see it. */
  async persistVolume(options: { name: string }): Promise<VolumeRecord> {
    const fs = this.volumeFss.get(options.name);
    if (!fs) return getVolume(this.ctx, options.name);
    return saveVolume(this.ctx, options.name, await fs);
  }

  async removeVolume(options: { name: string; force?: boolean }): Promise<void> {
    await removeVolume(this.ctx, options.name, options.force ?? false);
    this.volumeFss.delete(options.name);
  }

  async pruneVolumes(options: { all?: boolean } = {}): Promise<{ deleted: string[]; reclaimed: number }> {
    const r = await pruneVolumes(this.ctx, options.all ?? false);
    for (const n of r.deleted) this.volumeFss.delete(n);
    return r;
  }
}

async function collect(chunks: Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts = [...chunks];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

async function* toAsync(chunks: Iterable<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* chunks;
}
