/** What every engine service shares: the stores and a clock (injectable for tests). */
import type { ContentStore } from '../content/store.ts';
import type { QuotaOptions } from '../fs/quota.ts';
import type { EventRecorder } from './events/recorder.ts';
import type { SnapshotStore } from './snapshots/store.ts';
import type { StateStore } from './state/store.ts';

export interface EngineContext {
  content: ContentStore;
  state: StateStore;
  /** Containers' writable layers and volumes, saved as they change. */
  snapshots: SnapshotStore;
  now(): Date;
  /**
   * The quota of a writable layer without `--storage-opt size=`, and of every volume: they live in
   * host memory, so an unbounded `dd` would grow the skiff process until it dies. Absent: none.
   */
  storageQuota?: QuotaOptions;
  /** Docker's events, to the journal every engine over these stores shares; absent: not recorded. */
  recorder?: EventRecorder;
}
