import 'fake-indexeddb/auto';
import { IdbContentStore } from '../../src/content/idb.ts';
import { contentStoreConformance } from './conformance.ts';

let n = 0;
contentStoreConformance('idb', async () => new IdbContentStore({ dbName: `skiff-content-test-${n++}` }));
