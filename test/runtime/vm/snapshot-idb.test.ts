/** VM snapshots in IndexedDB (snapshot-idb.ts, fake-indexeddb here): one state kept, the newest. */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { idbSnapshots } from '../../../src/runtime/vm/snapshot-idb.ts';

describe('idbSnapshots', () => {
  it('gets what was put, and a put drops the states of other keys', async () => {
    const s = idbSnapshots('vm-test-1');
    expect(await s.get('vm-a')).toBeNull();
    await s.put('vm-a', new Uint8Array([1, 2]).buffer);
    expect(new Uint8Array((await s.get('vm-a'))!)).toEqual(new Uint8Array([1, 2]));
    await s.put('vm-b', new Uint8Array([3]).buffer);
    expect(await s.get('vm-a')).toBeNull();
    expect(new Uint8Array((await s.get('vm-b'))!)).toEqual(new Uint8Array([3]));
    await s.delete('vm-b');
    expect(await s.get('vm-b')).toBeNull();
  });
});
