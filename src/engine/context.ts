/** What every engine service shares: the two stores and a clock (injectable for tests). */
import type { ContentStore } from '../content/store.ts';
import type { StateStore } from './state/store.ts';

export interface EngineContext {
  content: ContentStore;
  state: StateStore;
  now(): Date;
}
