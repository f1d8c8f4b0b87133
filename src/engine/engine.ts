/**
 * The public engine, a thin facade: images (image-store.ts, with its chain of image sources, and
 * images.ts), containers (container-store.ts: records, writable layers, volumes) and their
 * lifecycle (lifecycle.ts: create, run, start, attach, resize, wait, signal, exec, logs). The CLI
 * and the browser worker call this; every method takes one options object and throws
 * `SkiffError`s. None of the parts reaches back into the facade.
 *
 * `run` is `docker run` in one call, for the CLI and the browser terminal alike:
 *   const r = await engine.runContainer({ image: 'skiff/busybox', run: parseRunFlags(flags),
 *     io, stdin, consoleSize, onCreated, onStarted });          // r.exit when it ended
 *   const c = await engine.runContainer({ ..., detach: true });  // c.process once it runs
 * (lifecycle.ts RunContainerOptions describes the hooks).
 */
import { SkiffError } from '../errors.ts';
import type { ContentStore } from '../content/store.ts';
import type { Overlay } from '../fs/overlay.ts';
import type { QuotaOptions } from '../fs/quota.ts';
import type { ContainerConfig } from '../oci/config.ts';
import type { Digest } from '../oci/digest.ts';
import { familiarName, familiarReference, normalizeReference, parseReference } from '../oci/reference.ts';
import type { ExitStatus, LimitUpdate, ResourceStats, RuntimeProcess } from '../runtime/types.ts';
import { commitImage, importImage, type ImportImageOptions } from './commit.ts';
import { commitConfig, commitCreatedBy, containerConfigOf } from './commit-config.ts';
import { ContainerStore, type ContainerPatch } from './container-store.ts';
import type { CreateContainerOptions } from './containers.ts';
import type { EngineContext } from './context.ts';
import type { ControlPlane } from './control/types.ts';
import { PeerDirectory } from './peer-directory.ts';
import { exportEntriesAsync, fsChanges, materializeTree, upperDiff, type Change } from './fs-io.ts';
import { bundledImages, ImageStore, localImages, type BundledImages, type ImageSource } from './image-store.ts';
import {
  diskUsage, history, inspectImage, keepLayerData, listImages, pruneImages, removeImage,
  rollbackImage, tagImage, type DiskUsage, type HistoryRow, type ImageSummary, type RemoveResult,
} from './images.ts';
import { LayerCache, type LayerCacheOptions } from './layers.ts';
import { takeLease } from './leases.ts';
import {
  Lifecycle, type ExecOptions, type HostDirFactory, type LogEntry, type RunContainerOptions, type RunResult,
  type StartedContainer, type StartOptions,
} from './lifecycle.ts';
import { loadArchive, type LoadArchiveOptions, type LoadResult } from './load/loader.ts';
import { RuntimePool, type RuntimeFactories } from './runtime-pool.ts';
import { saveArchiveChunks, type ArchiveFormat, type SaveItem } from './save.ts';
import type { StateStore } from './state/store.ts';
import { parseTar, writeTarChunks, writeTarChunksAsync } from './tar-io.ts';
import type { ContainerId, ContainerRecord, ImageRecord, TagRecord, VolumeRecord } from './types.ts';
import { closeAllLive } from './snapshots/live.ts';
import { defaultSnapshots } from './snapshots/engine-layers.ts';
import type { SnapshotStore } from './snapshots/store.ts';
import type { RegistryClient } from '../registry/client.ts';
import { engineLogin, engineLogout, enginePull, enginePush, engineTags, type LoginOptions, type PullImageOptions, type PushImageOptions } from '../registry/engine-ops.ts';
import {
  connectNetwork, createNetwork, disconnectNetwork, getNetwork, listNetworks, pruneNetworks, removeNetwork,
  type CreateNetworkOptions, type NetworkRecord, type PruneNetworkFilters,
} from './networks.ts';
import { resolveAddress, resolveName } from './network-dns.ts';
import { entriesAt, extractInto, statPath, type PathStat } from './container-copy.ts';
import { refreshEndpoints, runtimeNetwork } from './network-runtime.ts';
import { refuseNetworking } from '../runtime/spec/network.ts';
import { EventRecorder } from './events/recorder.ts';
import { MemoryEventJournal } from './events/memory.ts';
import type { EventJournal, EngineEvent, EventType } from './events/types.ts';
import { watchEvents, type EventWatch, type WatchEventsOptions } from './events/watch.ts';
import type { BuildOptions, BuildResult } from '../build/index.ts';

export type { BundledImages, ImageSource } from './image-store.ts';
export type { HostDirFactory } from './lifecycle.ts';

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

export interface EngineOptions {
  content: ContentStore;
  state: StateStore;
  /** Writable layers and volumes; default: in memory beside `state`. */
  snapshots?: SnapshotStore;
  /** Bundled images, an image source behind the local store. */
  bundled?: BundledImages;
  /** More image sources, tried after the local store and the bundled images (a registry, ...). */
  sources?: ImageSource[];
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
  /**
   * The quota of each writable layer without `--storage-opt size=` and of each volume (they live
   * in this process's memory): past it writes fail with ENOSPC. Default DEFAULT_STORAGE_QUOTA;
   * `{}` for none.
   */
  storageQuota?: QuotaOptions;
  /**
   * Where Docker's events go and are read from: the journal every engine over the same home
   * shares (Node: events/node-fs.ts); default: this engine's memory (a page, a test).
   */
  events?: EventJournal;
}

/** 1 GiB and a million inodes: what a host process can hold a few of. */
export const DEFAULT_STORAGE_QUOTA: Readonly<QuotaOptions> = Object.freeze({ bytes: 2 ** 30, inodes: 1_000_000 });

export class Engine {
  private readonly ctx: EngineContext;
  private readonly images: ImageStore;
  private readonly containers: ContainerStore;
  private readonly lifecycle: Lifecycle;
  private readonly layers: LayerCache;
  private readonly registry: RegistryClient | undefined;
  /** For build contexts given as a host directory's path. */
  private readonly hostDir: HostDirFactory | undefined;
  private readonly events: EventRecorder;
  /** Layer data being made after a pull; shutdown waits for it. */
  private readonly preparing = new Set<Promise<void>>();
  /** Layer data builds under way (prepareLayers), with their image's manifest digest. */
  private readonly building = new Map<AbortController, Digest>();

  /**
   * The stores and clock under an engine, for tests of the parts below the facade (load, pull,
   * snapshots). Callers in src/ go through the facade's methods.
   */
  static contextOf(engine: Engine): EngineContext {
    return engine.ctx;
  }

  constructor(options: EngineOptions) {
    this.events = new EventRecorder(options.events ?? new MemoryEventJournal());
    this.ctx = {
      content: options.content, state: options.state, snapshots: options.snapshots ?? defaultSnapshots(options.state),
      now: options.now ?? (() => new Date()), storageQuota: options.storageQuota ?? DEFAULT_STORAGE_QUOTA, recorder: this.events,
    };
    this.registry = options.registry;
    this.hostDir = options.hostDir;
    this.images = new ImageStore(this.ctx, [localImages, ...(options.bundled ? [bundledImages(options.bundled)] : []), ...(options.sources ?? [])]);
    this.layers = new LayerCache(options.content, { ...options.layerCache, state: options.state });
    this.containers = new ContainerStore(this.ctx, this.layers);
    this.lifecycle = new Lifecycle({
      containers: this.containers, images: this.images, events: this.events,
      // Container names on user networks: what the VM's DNS server (src/net) asks the engine.
      runtimes: new RuntimePool(options.runtimes ?? {}, (rt) => {
        rt.setNameResolver?.((name, sourceIp) => resolveName(this.ctx.state, name, sourceIp));
        // Containers of other processes' VMs on the same networks (Node: engine/peer-directory.ts).
        if (options.control) rt.setPeerDirectory?.(new PeerDirectory(this.containers, options.control));
      }),
      ...(options.hostDir ? { hostDir: options.hostDir } : {}), ...(options.control ? { control: options.control } : {}),
      // Records from before networks (no spec.network) keep their loopback-only namespace.
      networkFor: async (rec, runningHere) => rec.spec.network ? runtimeNetwork(this.ctx, await refreshEndpoints(this.ctx, rec), runningHere) : undefined,
    });
  }

  // ---- images ----

  /** Loads, then makes each new image's layer data (random access for containers: layer-index.ts). */
  async loadArchive(options: LoadArchiveOptions): Promise<LoadResult> {
    const r = await loadArchive(this.ctx, options);
    for (const i of r.images) {
      const image = i.existed ? undefined : await this.images.local(i.digest);
      if (image) await this.prepareLayers(image);
      this.events.image('load', i.id, i.tags[0] !== undefined ? familiarRef(i.tags[0]) : i.id);
    }
    return r;
  }

  /**
   * Makes the image's layer data (layers.ts prepare), kept only while an image lists each layer
   * (an rmi or prune meanwhile: images.ts keepLayerData), under a lease so that prune's sweep of
   * unreferenced blobs leaves the copies made before their record is written.
   */
  private async prepareLayers(image: ImageRecord): Promise<void> {
    // The data is a cache: a state store refusing the lease must not fail the load or the pull.
    const release = await takeLease(this.ctx).catch(() => undefined);
    const stop = new AbortController();
    this.building.set(stop, image.digest);
    try {
      await this.layers.prepare(image, { guard: keepLayerData(this.ctx), signal: stop.signal });
    } finally {
      this.building.delete(stop);
      await release?.().catch(() => {});
    }
  }

  /** Stops the layer data builds of images no longer stored (after an rmi or prune deleted some). */
  private async stopBuildsOfRemoved(): Promise<void> {
    for (const [stop, digest] of this.building) if (!(await this.ctx.state.get('images', digest))) stop.abort();
  }

  // Registry verbs: registry/engine-ops.ts.
  async pullImage(options: PullImageOptions) {
    const r = await enginePull(this.ctx, this.registry, options);
    // The pull verified every layer (digest, diff_id, structure); the layer data (an uncompressed
    // copy, made and checked against the diff_id again) follows in the background. A container
    // that needs it first joins that build (layer-index.ts ensureLayerData).
    if (!r.existed) {
      const p = this.prepareLayers(r.image).finally(() => this.preparing.delete(p));
      this.preparing.add(p);
    }
    this.events.image('pull', familiarRef(r.ref), familiarRef(r.ref, true));
    return r;
  }
  async pushImage(options: PushImageOptions) {
    const r = await enginePush(this.ctx, this.registry, options);
    this.events.image('push', familiarRef(r.ref), familiarRef(r.ref, true));
    return r;
  }
  login(options: LoginOptions) { return engineLogin(this.registry, options); }
  logout(options: { registry?: string } = {}) { return engineLogout(this.registry, options); }
  registryTags(options: { ref: string }) { return engineTags(this.registry, options); }

  listImages(options: { reference?: string } = {}): Promise<ImageSummary[]> {
    return listImages(this.ctx, options);
  }

  /** The image record for a reference, ID or digest, from the first image source that has it. */
  resolveImage(options: { ref: string }): Promise<ImageRecord> {
    return this.images.resolve(options.ref);
  }

  /** The image if the local store has it; no image source is asked. */
  findImage(options: { ref: string }): Promise<ImageRecord | undefined> {
    return this.images.local(options.ref);
  }

  async inspectImage(options: { ref: string }): Promise<Record<string, unknown>> {
    return inspectImage(this.ctx, await this.resolveImage(options));
  }

  async imageConfig(options: { ref: string }) {
    return this.images.config(await this.resolveImage(options));
  }

  async history(options: { ref: string }): Promise<HistoryRow[]> {
    return history(this.ctx, await this.resolveImage(options));
  }

  async tag(options: { source: string; target: string }): Promise<string> {
    const image = await this.resolveImage({ ref: options.source });
    const r = await tagImage(this.ctx, options.source, options.target);
    this.events.image('tag', image.id, familiarRef(options.target));
    return r;
  }

  /** `docker rmi`: untag, and delete the image when no tag and no container is left. */
  async removeImage(options: { ref: string; force?: boolean }): Promise<RemoveResult> {
    const image = await this.images.local(options.ref);
    const r = await removeImage(this.ctx, options.ref, options.force ?? false);
    if (r.deleted.length) await this.stopBuildsOfRemoved();
    for (const t of r.untagged) this.events.image('untag', image?.id ?? t, familiarRef(t));
    for (const d of r.deleted) this.events.image('delete', d, d);
    return r;
  }

  /** Remove one tag only (never the image). */
  async untag(options: { ref: string }): Promise<void> {
    const ref = normalizeReference(options.ref);
    const tag = await this.ctx.state.transaction(async (tx) => {
      const t = await tx.get<TagRecord>('tags', ref);
      if (!t) throw new SkiffError('NOT_FOUND', `No such image: ${options.ref}`);
      await tx.delete('tags', ref);
      return t;
    });
    const image = await this.images.local(tag.digest).catch(() => undefined);
    this.events.image('untag', image?.id ?? tag.digest, familiarRef(ref));
  }

  async pruneImages(options: { all?: boolean } = {}) {
    const r = await pruneImages(this.ctx, options);
    if (r.deleted.length) await this.stopBuildsOfRemoved();
    for (const t of r.untagged) this.events.image('untag', t, familiarRef(t));
    for (const d of r.deleted) this.events.image('delete', d, d);
    this.events.emit('image', 'prune', '', { reclaimed: String(r.reclaimed) });
    return r;
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

  async rollbackImage(options: { ref: string; to?: Digest }) {
    const r = await rollbackImage(this.ctx, options.ref, options.to);
    // The tag moved back: Docker's word for a tag pointing somewhere new.
    const image = await this.resolveImage({ ref: options.ref }).catch(() => undefined);
    if (image) this.events.image('tag', image.id, familiarRef(options.ref));
    return r;
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
    for (const i of items.values()) this.events.image('save', i.image.id, i.image.id);
    return saveArchiveChunks(this.ctx, [...items.values()], options.format ?? 'docker');
  }

  /** `docker build` (src/build): RUN steps run as containers of this engine. */
  async build(options: BuildOptions): Promise<BuildResult> {
    const { build: runBuild, runStepInContainer } = await builder();
    const r = await runBuild({
      ctx: this.ctx,
      tree: (layers) => this.layers.tree({ id: 'sha256:build', layers } as unknown as ImageRecord),
      // A base that is not here is pulled when the engine has registry access (always with --pull).
      resolveImage: async (ref, platform) => {
        const pull = () => this.pullImage({ ref, ...(platform ? { platform } : {}) });
        if (options.pull && this.registry) await pull();
        try {
          return await this.resolveImage({ ref });
        } catch (err) {
          if (!this.registry || !(err instanceof SkiffError && err.code === 'NOT_FOUND')) throw err;
          await pull();
          return this.resolveImage({ ref });
        }
      },
      rawConfig: async (image) => JSON.parse(new TextDecoder().decode(await this.ctx.content.get(image.config.digest))),
      runStep: (o) => runStepInContainer(this, this.ctx, o),
      ...(this.hostDir ? { openDir: (path: string) => this.hostDir!({ path, readOnly: true }) } : {}),
    }, options);
    // Docker's classic builder reports the result's tags (its RUN steps' containers report themselves).
    for (const t of r.tags) this.events.image('tag', r.id, familiarRef(t));
    return r;
  }

  /** `builder prune`: the build cache and the layers only it kept. */
  async pruneBuildCache(): Promise<{ deleted: string[]; reclaimed: number }> {
    const { pruneCache, CACHE_VOLUME_PREFIX } = await builder();
    const r = await pruneCache(this.ctx);
    // RUN --mount=type=cache volumes go too.
    for (const v of await this.listVolumes()) {
      if (v.name.startsWith(CACHE_VOLUME_PREFIX)) await this.removeVolume({ name: v.name, force: true }).then(() => { r.deleted.push(v.name); r.reclaimed += v.data?.size ?? 0; }, () => {});
    }
    return r;
  }

  async buildCacheUsage(): Promise<{ total: number; size: number }> {
    return (await builder()).cacheUsage(this.ctx);
  }

  // ---- containers ----

  /**
   * A container with its own writable layer, not started: its spec is resolved now, once (Docker's
   * rules and errors, runtime/spec container-spec.ts), and the volumes it mounts are created.
   */
  createContainer(options: CreateContainerOptions): Promise<ContainerRecord> {
    return this.lifecycle.create(options);
  }

  /** The record; one left "running" by a skiff process that is gone reads as exited. */
  inspectContainer(options: { id: string }): Promise<ContainerRecord> {
    return this.lifecycle.inspect(options.id);
  }

  listContainers(options: { all?: boolean } = {}): Promise<ContainerRecord[]> {
    return this.lifecycle.list(options.all ?? false);
  }

  /** The container's root filesystem (one live Overlay per container per engine). */
  containerFs(options: { id: string } | string): Promise<Overlay> {
    return this.containers.fs(typeof options === 'string' ? options : options.id);
  }

  /** Save the live overlay's writable layer so later processes see the writes. */
  persistContainer(options: { id: string }): Promise<ContainerRecord> {
    return this.containers.persist(options.id);
  }

  /** `docker rename`. */
  async renameContainer(options: { id: string; name: string }): Promise<ContainerRecord> {
    const before = await this.containers.get(options.id);
    const rec = await this.containers.rename(options.id, options.name);
    this.events.container(rec, 'rename', { oldName: `/${before.name}` });
    return rec;
  }

  /** Patch the record (runtime data such as what the Engine API records about restarts and stats). */
  updateContainer(options: { id: string; patch: ContainerPatch }): Promise<ContainerRecord> {
    return this.containers.update(options.id, options.patch);
  }

  /**
   * `docker commit`: a new image = the container's image + its writable layer, configured as
   * Docker's daemon does (commit-config.ts): the container's Config (or `config`, the API body),
   * `changes` applied as Dockerfile lines, merged over the container's Config. A running container
   * is paused while its layer is read unless `pause` is false (Docker ignores a pause that fails:
   * a runtime without a freezer commits unpaused); it is unpaused after, even when the commit fails.
   */
  async commitContainer(options: CommitContainerOptions): Promise<ImageRecord> {
    const rec = await this.lifecycle.inspect(options.id);
    if (rec.state === 'dead') throw new SkiffError('CONFLICT', `You cannot commit container ${rec.id} which is Dead`);
    // A bad reference is refused before anything is paused or written.
    const tag = options.ref !== undefined ? normalizeReference(options.ref) : undefined;
    const image = await this.ctx.state.get<ImageRecord>('images', rec.image);
    if (!image) throw new SkiffError('NOT_FOUND', `committing ${rec.name}: its image ${rec.imageId} is gone`);
    const parent = await this.images.config(image);
    // What the Engine API recorded at create (api/create-body.ts RECORDED): Config.ExposedPorts.
    const recorded = (rec.runtimeData?.['dockerApi'] as { exposedPorts?: Record<string, unknown> } | undefined)?.exposedPorts;
    const own = containerConfigOf(rec, parent.config ?? {}, recorded);
    const config = await commitConfig(own, { ...(options.config ? { body: options.config } : {}), ...(options.changes ? { changes: options.changes } : {}) });
    let paused = false;
    if (options.pause !== false && rec.state === 'running') {
      paused = await this.lifecycle.freeze(rec.id, true).then(() => true, () => false);
    }
    try {
      const made = await commitImage(this.ctx, {
        parent: { image, config: parent }, ...(await this.containerDiff(rec)),
        config, replaceConfig: true, container: { id: rec.id, config: own },
        history: { created_by: commitCreatedBy(own), ...(options.message ? { comment: options.message } : {}) },
        ...(options.author ? { author: options.author } : {}),
        ...(tag ? { tag } : {}),
        source: `commit:${rec.id}`,
      });
      this.events.container(rec, 'commit', { comment: options.message ?? '', imageID: made.id, imageRef: tag ? familiarRef(tag) : '' });
      if (tag) this.events.image('tag', made.id, familiarRef(tag));
      return made;
    } finally {
      if (paused) await this.lifecycle.freeze(rec.id, false).catch(() => {});
    }
  }

  /**
   * The writable layer as a tar, none when nothing changed (Docker then records an empty_layer
   * history entry and no layer). A container another process runs is asked to save its live
   * layer first (control op `persist`): what it wrote up to now is in the commit.
   */
  private async containerDiff(rec: ContainerRecord): Promise<{ layer?: Uint8Array }> {
    await this.lifecycle.persistLayer(rec.id);
    const fs = await this.containers.fs(rec.id);
    // diffUpper reads synchronously: image bytes of changed files from an async store come first.
    await materializeTree(fs.upperTree.root);
    const tar = collect(writeTarChunks(upperDiff(fs)));
    return parseTar(tar).length === 0 ? {} : { layer: tar };
  }

  /** The container's merged filesystem as one tar (`docker export`). */
  async exportContainer(options: { id: string }): Promise<AsyncIterable<Uint8Array>> {
    const fs = await this.containerFs(options);
    this.events.container(await this.containers.get(options.id), 'export');
    return writeTarChunksAsync(exportEntriesAsync(fs));
  }

  /** `docker cp`'s stat of a path in the container (Docker's PathStat). */
  async statContainerPath(options: { id: string; path: string }): Promise<PathStat> {
    return statPath(await this.containerFs(options), options.path);
  }

  /** `docker cp` out: the tree at `path` as a tar whose entries are named from its last component. */
  async copyFromContainer(options: { id: string; path: string }): Promise<{ stat: PathStat; tar: AsyncIterable<Uint8Array> }> {
    const fs = await this.containerFs(options);
    const stat = statPath(fs, options.path);
    this.events.container(await this.containers.get(options.id), 'archive-path', { path: options.path });
    return { stat, tar: writeTarChunksAsync(entriesAt(fs, options.path)) };
  }

  /** `docker cp` in: a tar extracted into the directory at `path`, then saved with the writable layer. */
  async copyIntoContainer(options: { id: string; path: string; tar: Uint8Array | AsyncIterable<Uint8Array>; noOverwriteDirNonDir?: boolean }): Promise<void> {
    const rec = await this.inspectContainer(options);
    if (rec.spec.security.readOnlyRootfs) throw new SkiffError('CONFLICT', `container ${rec.name}'s root filesystem is read-only`);
    const bytes = options.tar instanceof Uint8Array ? options.tar : collect(await fromAsync(options.tar));
    let entries;
    try {
      entries = parseTar(bytes);
    } catch (err) {
      throw new SkiffError('INVALID_ARCHIVE', `not a tar archive: ${err instanceof Error ? err.message : String(err)}`);
    }
    extractInto(await this.containerFs({ id: rec.id }), options.path, entries, { noOverwriteDirNonDir: options.noOverwriteDirNonDir ?? false });
    // Before it returns: the container sees the copy at once, not what its guest cached before.
    await this.lifecycle.filesChanged(rec.id);
    await this.persistContainer({ id: rec.id });
    this.events.container(rec, 'extract-to-dir', { path: options.path });
  }

  /** `docker diff`: paths added (A), changed (C) and deleted (D) in the writable layer. */
  async containerChanges(options: { id: string }): Promise<Change[]> {
    return fsChanges(await this.containerFs(options));
  }

  removeContainer(options: { id: string; force?: boolean }): Promise<ContainerRecord> {
    return this.lifecycle.remove(options.id, options.force ?? false);
  }

  /** `docker container prune`: removes every container that is not running or paused. */
  pruneContainers(): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
    return this.lifecycle.prune();
  }

  /** `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image. */
  async importImage(options: ImportImageOptions): Promise<ImageRecord> {
    const image = await importImage(this.ctx, options);
    await this.prepareLayers(image);
    this.events.image('import', image.id, image.id);
    return image;
  }

  // ---- lifecycle (over the runtimes given at construction) ----

  /** `docker run` (lifecycle.ts RunContainerOptions): create, start, stdin, wait; `detach` returns once started. */
  runContainer(options: RunContainerOptions & { detach: true }): Promise<StartedContainer>;
  runContainer(options: RunContainerOptions): Promise<RunResult>;
  runContainer(options: RunContainerOptions): Promise<RunResult | StartedContainer> {
    return this.lifecycle.run(options);
  }

  /** Start the container's process on its runtime; `wait()` resolves after the exit is recorded. */
  startContainer(options: { id: string } & StartOptions): Promise<RuntimeProcess> {
    const { id, ...o } = options;
    return this.lifecycle.start(id, o);
  }

  /**
   * `docker attach`: the container's output goes to `io` too until `detach()`; the handle's stdin,
   * resize and signals reach it. Here, or through the control channel of the process that runs it.
   */
  attachContainer(options: { id: string; io: StartOptions['io'] & object }): Promise<RuntimeProcess & { detach(): void }> {
    return this.lifecycle.attach(options.id, options.io);
  }

  /** The TTY's window size, here or through the owning process. */
  resizeContainer(options: { id: string; cols: number; rows: number }): Promise<void> {
    return this.lifecycle.resize(options.id, { cols: options.cols, rows: options.rows });
  }

  /** How the container's process ended (waits while it runs). */
  waitContainer(options: { id: string }): Promise<ExitStatus> {
    return this.lifecycle.wait(options.id);
  }

  killContainer(options: { id: string; signal?: string | number }): Promise<void> {
    return this.lifecycle.kill(options.id, options.signal);
  }

  /** `docker stop`: the stop signal, then SIGKILL after `timeout` seconds. */
  stopContainer(options: { id: string; timeout?: number; signal?: string }): Promise<ExitStatus | undefined> {
    return this.lifecycle.stop(options.id, options.timeout, options.signal);
  }

  async restartContainer(options: { id: string; timeout?: number } & StartOptions): Promise<RuntimeProcess> {
    const { id, timeout, ...o } = options;
    await this.lifecycle.stop(id, timeout);
    const proc = await this.lifecycle.start(id, o);
    this.events.container(await this.containers.get(id), 'restart');
    return proc;
  }

  /** `docker pause`: the container's processes frozen (cgroup freezer); the record says paused. */
  pauseContainer(options: { id: string }): Promise<ContainerRecord> {
    return this.lifecycle.freeze(options.id, true);
  }

  unpauseContainer(options: { id: string }): Promise<ContainerRecord> {
    return this.lifecycle.freeze(options.id, false);
  }

  /** One sample of a running container's CPU, memory, pids, I/O and network counters. */
  containerStats(options: { id: string }): Promise<ResourceStats> {
    return this.lifecycle.stats(options.id);
  }

  /** `docker update`: new limits for the running process and for later starts. */
  updateContainerResources(options: { id: string; limits: LimitUpdate }): Promise<ContainerRecord> {
    return this.lifecycle.update(options.id, options.limits);
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

  /** Stop every running container and the runtimes (VM, workers). */
  async shutdown(): Promise<void> {
    await Promise.all(this.preparing);
    await this.lifecycle.shutdown();
    await closeAllLive(this.ctx.snapshots);
  }

  // ---- volumes ----

  /** `docker volume create`; without a name, an anonymous volume with a random one. Idempotent. */
  createVolume(options: { name?: string; labels?: Record<string, string> } = {}): Promise<VolumeRecord> {
    return this.containers.createVolume(options);
  }

  inspectVolume(options: { name: string }): Promise<VolumeRecord> {
    return this.containers.volume(options.name);
  }

  listVolumes(): Promise<VolumeRecord[]> {
    return this.containers.volumes();
  }

  /** The volume's filesystem (one live Overlay per volume per engine). */
  volumeFs(options: { name: string }): Promise<Overlay> {
    return this.containers.volumeFs(options.name);
  }

  /** Save the live volume's content so later processes see it. */
  persistVolume(options: { name: string }): Promise<VolumeRecord> {
    return this.containers.persistVolume(options.name);
  }

  removeVolume(options: { name: string; force?: boolean }): Promise<void> {
    return this.containers.removeVolume(options.name, options.force ?? false);
  }

  pruneVolumes(options: { all?: boolean } = {}): Promise<{ deleted: string[]; reclaimed: number }> {
    return this.containers.pruneVolumes(options.all ?? false);
  }

  // ---- events (events/: Docker's, from every process over the same home) ----

  /**
   * `docker events`: with `since`, the journal's events from then (to `until`); then, unless
   * `until` has passed, each new one as it happens, until `until` or `stop()`. Docker's filters
   * (an unknown key is INVALID_ARGUMENT).
   */
  watchEvents(options: WatchEventsOptions): Promise<EventWatch> {
    return watchEvents(this.events.journal, options);
  }

  /** An event a surface performs itself (an API client's `attach`), into the same journal. */
  recordEvent(options: { type: EventType; action: string; id: string; attributes?: Record<string, string> }): EngineEvent {
    return this.events.emit(options.type, options.action, options.id, options.attributes ?? {});
  }

  /** A container's event a surface performs itself (a `restart` made of stop and a start elsewhere), with Docker's attributes. */
  async recordContainerEvent(options: { id: string; action: string }): Promise<void> {
    this.events.container(await this.containers.get(options.id), options.action);
  }

  // ---- networks (networks.ts; the guest side is the VM runtime's) ----

  /** `docker network create` (bridge driver): a subnet of its own, the next free one unless given. */
  async createNetwork(options: CreateNetworkOptions): Promise<NetworkRecord> {
    const n = await createNetwork(this.ctx, options);
    this.events.network('create', n);
    return n;
  }

  /** Every network, Docker's predefined bridge, host and none included. */
  listNetworks(): Promise<NetworkRecord[]> {
    return listNetworks(this.ctx);
  }

  /** By id, name or unique id prefix. */
  inspectNetwork(options: { id: string }): Promise<NetworkRecord> {
    return getNetwork(this.ctx, options.id);
  }

  async removeNetwork(options: { id: string }): Promise<NetworkRecord> {
    const n = await removeNetwork(this.ctx, options.id);
    this.events.network('destroy', n);
    return n;
  }

  /** `docker network prune` (filters: until, label, label!). */
  async pruneNetworks(filters: PruneNetworkFilters = {}): Promise<{ deleted: string[] }> {
    const before = await listNetworks(this.ctx);
    const deleted = await pruneNetworks(this.ctx, filters);
    for (const n of before) if (deleted.includes(n.name) || deleted.includes(n.id)) this.events.network('destroy', n);
    this.events.emit('network', 'prune', '', {});
    return { deleted };
  }

  /** `docker network connect`: recorded, and plugged in now when this engine runs the container. */
  async connectNetwork(options: { network: string; container: string; aliases?: string[]; ip?: string; links?: string[] }): Promise<void> {
    const before = await this.lifecycle.inspect(options.container);
    if (before.runtime === 'wasi') refuseNetworking({ mode: options.network, endpoints: {}, extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] }, before.runtime);
    const { container, network } = await connectNetwork(this.ctx, options);
    this.events.network('connect', network, { container: container.id });
    if (!this.lifecycle.isRunning(container.id)) return;
    const net = await runtimeNetwork(this.ctx, container, (id) => this.lifecycle.isRunning(id));
    const added = net.interfaces.find((i) => i.networkId === network.id);
    try {
      if (added) await this.lifecycle.hotplug(container.id, 'connect', added);
    } catch (err) {
      await disconnectNetwork(this.ctx, { network: options.network, container: container.id, force: true }).catch(() => {});
      throw SkiffError.wrap(err, `connecting ${container.name} to ${options.network}`);
    }
  }

  /** `docker network disconnect`: recorded, and unplugged now when this engine runs the container. */
  async disconnectNetwork(options: { network: string; container: string; force?: boolean }): Promise<void> {
    const before = await this.lifecycle.inspect(options.container);
    const net = before.spec.network && this.lifecycle.isRunning(before.id) ? await runtimeNetwork(this.ctx, before, () => true).catch(() => undefined) : undefined;
    const { endpoint } = await disconnectNetwork(this.ctx, options);
    const network = await getNetwork(this.ctx, endpoint.networkId).catch(() => undefined);
    if (network) this.events.network('disconnect', network, { container: before.id });
    const iface = net?.interfaces.find((i) => i.networkId === endpoint.networkId && i.ip === endpoint.ip);
    if (iface) await this.lifecycle.hotplug(before.id, 'disconnect', iface).catch((err) => {
      throw SkiffError.wrap(err, `disconnecting ${before.name} from ${options.network}`);
    });
  }

  /**
   * Docker's embedded DNS for the host-side DNS server: addresses of running containers on the
   * same user network as `sourceIp` named `name` (name, short id, alias); undefined: not ours.
   */
  resolveName(options: { name: string; sourceIp: string }): Promise<string[] | undefined> {
    return resolveName(this.ctx.state, options.name, options.sourceIp);
  }

  /** PTR for an address on the asker's own user network: "<name>.<network>". */
  resolveAddress(options: { ip: string; sourceIp: string }): Promise<string | undefined> {
    return resolveAddress(this.ctx.state, options.ip, options.sourceIp);
  }
}

export type { NetworkRecord, CreateNetworkOptions, PruneNetworkFilters } from './networks.ts';

/** "busybox:latest" as Docker's events name an image (`nameOnly`: "busybox"). */
function familiarRef(ref: string, nameOnly = false): string {
  try {
    const r = parseReference(ref);
    return nameOnly ? familiarName(r) : familiarReference(r);
  } catch {
    return ref;
  }
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

/**
 * The Dockerfile builder's code, loaded on first use: in the browser the engine worker's script is
 * parsed before its first answer, and a page's runs need none of it.
 */
function builder(): Promise<typeof import('../build/index.ts')> {
  return import('../build/index.ts');
}
