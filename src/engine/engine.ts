/**
 * The public engine, a thin facade: images (image-store.ts, with its chain of image sources, and
 * images.ts), containers (container-store.ts: records, writable layers, volumes) and their
 * lifecycle (lifecycle.ts: create, run, start, attach, resize, wait, signal, exec, logs). The CLI
 * and the browser worker call this; every method takes one options object and throws
 * `SkiffError`s. None of the parts reaches back into the facade.
 *
 * The parts are wired in engine-parts.ts; what a verb does beyond one call of a part lives with
 * its kind: image-ops.ts (load, pull, push, tag, rmi, prune, save, import), build-ops.ts,
 * container-ops.ts (rename, commit, export, cp, diff), network-ops.ts; the registry's in
 * registry/engine-ops.ts. Each adds Docker's events for what it did.
 *
 * `run` is `docker run` in one call, for the CLI and the browser terminal alike:
 *   const r = await engine.runContainer({ image: 'skiff/busybox', run: parseRunFlags(flags),
 *     io, stdin, consoleSize, onCreated, onStarted });          // r.exit when it ended
 *   const c = await engine.runContainer({ ..., detach: true });  // c.process once it runs
 * (lifecycle-options.ts RunContainerOptions describes the hooks).
 */
import type { Overlay } from '../fs/overlay.ts';
import type { Digest } from '../oci/digest.ts';
import type { ExitStatus, LimitUpdate, ResourceStats, RuntimeProcess } from '../runtime/types.ts';
import type { ImportImageOptions } from './commit.ts';
import type { ContainerStore, ContainerPatch } from './container-store.ts';
import type { CreateContainerOptions } from './containers.ts';
import type { EngineContext } from './context.ts';
import type { EngineOptions } from './engine-options.ts';
import { engineParts, type EngineParts } from './engine-parts.ts';
import type { Change } from './fs-io.ts';
import type { ImageStore } from './image-store.ts';
import { diskUsage, history, inspectImage, listImages, type DiskUsage, type HistoryRow, type ImageSummary, type RemoveResult } from './images.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { ExecOptions, LogEntry, RunContainerOptions, RunResult, StartedContainer, StartOptions } from './lifecycle.ts';
import type { LoadArchiveOptions, LoadResult } from './load/loader.ts';
import type { ArchiveFormat } from './save.ts';
import type { ContainerId, ContainerRecord, ImageRecord, VolumeRecord } from './types.ts';
import { closeAllLive } from './snapshots/live.ts';
import { engineLogin, engineLogout, engineTags, type LoginOptions, type PullImageOptions, type PushImageOptions } from '../registry/engine-ops.ts';
import {
  engineImport, engineLoad, enginePruneImages, enginePullImage, enginePushImage, engineRemoveImage, engineRollback, engineSave,
  engineTag, engineTagHistory, engineUntag,
} from './image-ops.ts';
import { engineBuild, engineBuildCacheUsage, enginePruneBuildCache } from './build-ops.ts';
import {
  engineChanges, engineCommit, engineCopyFrom, engineCopyInto, engineExport, engineRename, engineStatPath, type CommitContainerOptions,
} from './container-ops.ts';
import { getNetwork, listNetworks, type CreateNetworkOptions, type NetworkRecord, type PruneNetworkFilters } from './networks.ts';
import { engineConnect, engineCreateNetwork, engineDisconnect, enginePruneNetworks, engineRemoveNetwork } from './network-ops.ts';
import { resolveAddress, resolveName } from './network-dns.ts';
import type { EventRecorder } from './events/recorder.ts';
import type { EngineEvent, EventType } from './events/types.ts';
import { watchEvents, type EventWatch, type WatchEventsOptions } from './events/watch.ts';
import type { BuildOptions, BuildResult } from '../build/index.ts';
import type { PathStat } from './container-copy.ts';

export type { BundledImages, ImageSource } from './image-store.ts';
export type { HostDirFactory } from './lifecycle.ts';
export { DEFAULT_STORAGE_QUOTA, type EngineOptions } from './engine-options.ts';
export type { CommitContainerOptions } from './container-ops.ts';

export class Engine {
  /** What the verbs of image-ops.ts, build-ops.ts, container-ops.ts and network-ops.ts work on. */
  private readonly parts: EngineParts;
  private readonly ctx: EngineContext;
  private readonly images: ImageStore;
  private readonly containers: ContainerStore;
  private readonly lifecycle: Lifecycle;
  private readonly events: EventRecorder;

  /**
   * The stores and clock under an engine, for tests of the parts below the facade (load, pull,
   * snapshots). Callers in src/ go through the facade's methods.
   */
  static contextOf(engine: Engine): EngineContext {
    return engine.ctx;
  }

  constructor(options: EngineOptions) {
    this.parts = engineParts(options);
    ({ ctx: this.ctx, images: this.images, containers: this.containers, lifecycle: this.lifecycle, events: this.events } = this.parts);
  }

  // ---- images (image-ops.ts) ----

  /** Loads, then makes each new image's layer data (random access for containers: layer-index.ts). */
  loadArchive(options: LoadArchiveOptions): Promise<LoadResult> {
    return engineLoad(this.parts, options);
  }

  // Registry verbs: registry/engine-ops.ts; pull and push with their events, image-ops.ts.
  pullImage(options: PullImageOptions) { return enginePullImage(this.parts, options); }
  pushImage(options: PushImageOptions) { return enginePushImage(this.parts, options); }
  login(options: LoginOptions) { return engineLogin(this.parts.registry, options); }
  logout(options: { registry?: string } = {}) { return engineLogout(this.parts.registry, options); }
  registryTags(options: { ref: string }) { return engineTags(this.parts.registry, options); }

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

  tag(options: { source: string; target: string }): Promise<string> {
    return engineTag(this.parts, options);
  }

  /** `docker rmi`: untag, and delete the image when no tag and no container is left. */
  removeImage(options: { ref: string; force?: boolean }): Promise<RemoveResult> {
    return engineRemoveImage(this.parts, options);
  }

  /** Remove one tag only (never the image). */
  untag(options: { ref: string }): Promise<void> {
    return engineUntag(this.parts, options);
  }

  pruneImages(options: { all?: boolean } = {}) {
    return enginePruneImages(this.parts, options);
  }

  diskUsage(): Promise<DiskUsage> {
    return diskUsage(this.ctx);
  }

  /** Where a tag points and pointed, newest first (`at`: when it started pointing there). */
  tagHistory(options: { ref: string }): Promise<Array<{ digest: Digest; at: string }>> {
    return engineTagHistory(this.parts, options);
  }

  rollbackImage(options: { ref: string; to?: Digest }) {
    return engineRollback(this.parts, options);
  }

  /** The archive as chunks; nothing is read until iterated. Refs are resolved first (NOT_FOUND early). */
  saveArchive(options: { refs: string[]; format?: ArchiveFormat }): Promise<AsyncIterable<Uint8Array>> {
    return engineSave(this.parts, options);
  }

  /** `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image. */
  importImage(options: ImportImageOptions): Promise<ImageRecord> {
    return engineImport(this.parts, options);
  }

  // ---- builds (build-ops.ts) ----

  /** `docker build` (src/build): RUN steps run as containers of this engine. */
  build(options: BuildOptions): Promise<BuildResult> {
    return engineBuild(this.parts, this, options);
  }

  /** `builder prune`: the build cache and the layers only it kept. */
  pruneBuildCache(): Promise<{ deleted: string[]; reclaimed: number }> {
    return enginePruneBuildCache(this.parts);
  }

  buildCacheUsage(): Promise<{ total: number; size: number }> {
    return engineBuildCacheUsage(this.parts);
  }

  // ---- containers (container-ops.ts) ----

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
  renameContainer(options: { id: string; name: string }): Promise<ContainerRecord> {
    return engineRename(this.parts, options);
  }

  /** Patch the record (runtime data such as what the Engine API records about restarts and stats). */
  updateContainer(options: { id: string; patch: ContainerPatch }): Promise<ContainerRecord> {
    return this.containers.update(options.id, options.patch);
  }

  /**
   * `docker commit`: a new image = the container's image + its writable layer, configured as
   * Docker's daemon does (commit-config.ts); a running container is paused while its layer is
   * read unless `pause` is false (container-ops.ts says how).
   */
  commitContainer(options: CommitContainerOptions): Promise<ImageRecord> {
    return engineCommit(this.parts, options);
  }

  /** The container's merged filesystem as one tar (`docker export`). */
  exportContainer(options: { id: string }): Promise<AsyncIterable<Uint8Array>> {
    return engineExport(this.parts, options);
  }

  /** `docker cp`'s stat of a path in the container (Docker's PathStat). */
  statContainerPath(options: { id: string; path: string }): Promise<PathStat> {
    return engineStatPath(this.parts, options);
  }

  /** `docker cp` out: the tree at `path` as a tar whose entries are named from its last component. */
  copyFromContainer(options: { id: string; path: string }): Promise<{ stat: PathStat; tar: AsyncIterable<Uint8Array> }> {
    return engineCopyFrom(this.parts, options);
  }

  /** `docker cp` in: a tar extracted into the directory at `path`, then saved with the writable layer. */
  copyIntoContainer(options: { id: string; path: string; tar: Uint8Array | AsyncIterable<Uint8Array>; noOverwriteDirNonDir?: boolean }): Promise<void> {
    return engineCopyInto(this.parts, options);
  }

  /** `docker diff`: paths added (A), changed (C) and deleted (D) in the writable layer. */
  containerChanges(options: { id: string }): Promise<Change[]> {
    return engineChanges(this.parts, options);
  }

  removeContainer(options: { id: string; force?: boolean }): Promise<ContainerRecord> {
    return this.lifecycle.remove(options.id, options.force ?? false);
  }

  /** `docker container prune`: removes every container that is not running or paused. */
  pruneContainers(): Promise<{ deleted: ContainerId[]; reclaimed: number }> {
    return this.lifecycle.prune();
  }

  // ---- lifecycle (over the runtimes given at construction) ----

  /** `docker run` (lifecycle-options.ts RunContainerOptions): create, start, stdin, wait; `detach` returns once started. */
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
    await this.parts.layerData.settled();
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

  // ---- networks (networks.ts, network-ops.ts; the guest side is the VM runtime's) ----

  /** `docker network create` (bridge driver): a subnet of its own, the next free one unless given. */
  createNetwork(options: CreateNetworkOptions): Promise<NetworkRecord> {
    return engineCreateNetwork(this.parts, options);
  }

  /** Every network, Docker's predefined bridge, host and none included. */
  listNetworks(): Promise<NetworkRecord[]> {
    return listNetworks(this.ctx);
  }

  /** By id, name or unique id prefix. */
  inspectNetwork(options: { id: string }): Promise<NetworkRecord> {
    return getNetwork(this.ctx, options.id);
  }

  removeNetwork(options: { id: string }): Promise<NetworkRecord> {
    return engineRemoveNetwork(this.parts, options);
  }

  /** `docker network prune` (filters: until, label, label!). */
  pruneNetworks(filters: PruneNetworkFilters = {}): Promise<{ deleted: string[] }> {
    return enginePruneNetworks(this.parts, filters);
  }

  /** `docker network connect`: recorded, and plugged in now when this engine runs the container. */
  connectNetwork(options: { network: string; container: string; aliases?: string[]; ip?: string; links?: string[] }): Promise<void> {
    return engineConnect(this.parts, options);
  }

  /** `docker network disconnect`: recorded, and unplugged now when this engine runs the container. */
  disconnectNetwork(options: { network: string; container: string; force?: boolean }): Promise<void> {
    return engineDisconnect(this.parts, options);
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
