export * from './store.ts';
export { MemoryContentStore } from './memory.ts';
export { IdbContentStore, type IdbContentStoreOptions } from './idb.ts';
