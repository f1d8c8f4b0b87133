import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { IdbContentStore } from '../../src/content/idb.ts';
import { putBlob } from '../../src/content/store.ts';
import { contentStoreConformance } from './conformance.ts';

let n = 0;
contentStoreConformance('idb', async () => new IdbContentStore({ dbName: `skiff-content-test-${n++}` }));

describe('IdbContentStore errors', () => {
  it('a QuotaExceededError with an empty message is named in the error (the page tells the user the quota is full)', async () => {
    const store = new IdbContentStore({ dbName: `skiff-content-test-${n++}` });
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () { throw new DOMException('', 'QuotaExceededError'); };
    try {
      const data = new TextEncoder().encode('quota');
      await expect(putBlob(store, data)).rejects.toThrow(/IndexedDB: committing sha256:[0-9a-f]{64}: QuotaExceededError/);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
  });
});
