/**
 * What an entry point (src/node.ts, src/browser.ts, a test) opens an Engine with: its stores, the
 * image sources, runtimes, host access and limits. engine.ts re-exports these.
 */
import type { ContentStore } from '../content/store.ts';
import type { QuotaOptions } from '../fs/quota.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { ControlPlane } from './control/types.ts';
import type { EventJournal } from './events/types.ts';
import type { BundledImages, ImageSource } from './image-store.ts';
import type { LayerCacheOptions } from './layers.ts';
import type { HostDirFactory } from './lifecycle-core.ts';
import type { RuntimeFactories } from './runtime-pool.ts';
import type { SnapshotStore } from './snapshots/store.ts';
import type { StateStore } from './state/store.ts';

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
