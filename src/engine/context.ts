/** What every engine service shares: the stores and a clock (injectable for tests). */
import type { ContentStore } from '../content/store.ts';
import type { SnapshotStore } from './snapshots/store.ts';
import type { StateStore } from './state/store.ts';

export interface EngineContext {
  content: ContentStore;
  state: StateStore;
  /** Containers' writable layers and volumes, saved as they change. */
  snapshots: SnapshotStore;
  now(): Date;
}
