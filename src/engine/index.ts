export { DEFAULT_STORAGE_QUOTA, Engine, type BundledImages, type EngineOptions, type HostDirFactory, type ImageSource } from './engine.ts';
export type { EngineContext } from './context.ts';
export type { CreateContainerOptions } from './containers.ts';
export type { DiskUsage, HistoryRow, ImageSummary, RemoveResult } from './images.ts';
export type { LoadArchiveOptions, LoadProgress, LoadResult, LoadedImage } from './load/loader.ts';
export type { ArchiveFormat } from './save.ts';
export type { Change } from './fs-io.ts';
export type { ContainerId, ContainerRecord, ContainerState, ImageRecord, LayerRecord, TagRecord, VolumeRecord } from './types.ts';
export type { CommitImageOptions, ImportImageOptions } from './commit.ts';
export { commitImage } from './commit.ts';
export type { Collection, StateStore, StateTx } from './state/store.ts';
export { MemoryStateStore } from './state/memory.ts';
export { IdbStateStore, type IdbStateOptions } from './state/idb.ts';
export type { RecordOp, SnapshotKey, SnapshotStore, SnapshotWriter } from './snapshots/store.ts';
export { MemorySnapshotStore } from './snapshots/memory.ts';
export { IdbSnapshotStore, type IdbSnapshotOptions } from './snapshots/idb.ts';
export { takeLease } from './leases.ts';
export {
  decodeLogs, type ExecOptions, type LogEntry, type RunContainerOptions, type RunResult, type RuntimeFactories, type StartedContainer, type StartOptions,
} from './lifecycle.ts';
export type { ContainerSpec, SpecMount } from '../runtime/spec/container-spec.ts';
export type { EngineEvent, EventJournal, EventType } from './events/types.ts';
export { MemoryEventJournal } from './events/memory.ts';
export type { EventWatch, WatchEventsOptions } from './events/watch.ts';
