import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, FileContent } from '../../src/fs/file-content.ts';

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

describe('FileContent', () => {
  it('views the source bytes and copies only the chunk a write touches', () => {
    const src = pattern(32 * 1024 * 1024);
    const c = FileContent.fromBytes(src);
    expect(c.ownedBytes).toBe(0);
    c.write(10_000_000, new Uint8Array([1]));
    expect(c.ownedBytes).toBeLessThanOrEqual(CHUNK_SIZE);
    expect(c.read(10_000_000, 1)[0]).toBe(1);
    expect(src[10_000_000]).toBe((10_000_000 * 31 + 7) & 0xff); // the layer's bytes are untouched
    expect(c.read(9_999_999, 3)).toEqual(new Uint8Array([src[9_999_999]!, 1, src[10_000_001]!]));
  });

  it('clones share chunks and diverge on write', () => {
    const a = FileContent.fromBytes(pattern(200_000));
    const b = a.clone();
    b.write(0, new Uint8Array([9, 9]));
    a.write(150_000, new Uint8Array([8]));
    expect(a.read(0, 2)).toEqual(pattern(2));
    expect(b.read(0, 2)).toEqual(new Uint8Array([9, 9]));
    expect(b.read(150_000, 1)[0]).toBe(pattern(150_001)[150_000]);
    expect(a.read(150_000, 1)[0]).toBe(8);
  });

  it('writes past the end leave zero holes and truncate-then-extend reads zeros', () => {
    const c = FileContent.fromBytes(new TextEncoder().encode('hello world'));
    c.write(CHUNK_SIZE * 2 + 5, new Uint8Array([7]));
    expect(c.size).toBe(CHUNK_SIZE * 2 + 6);
    expect(c.read(11, 10)).toEqual(new Uint8Array(10));
    expect(c.read(CHUNK_SIZE * 2 + 4, 5)).toEqual(new Uint8Array([0, 7]));
    c.truncate(5);
    expect(new TextDecoder().decode(c.read(0, 100))).toBe('hello');
    c.truncate(11);
    expect(c.read(0, 11)).toEqual(new Uint8Array([104, 101, 108, 108, 111, 0, 0, 0, 0, 0, 0]));
    c.write(3, new Uint8Array([1]));
    c.truncate(2);
    c.truncate(6);
    expect(c.read(0, 6)).toEqual(new Uint8Array([104, 101, 0, 0, 0, 0]));
  });

  it('matches a plain byte array under random writes and truncates', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const init = pattern(rnd(3 * CHUNK_SIZE));
      let model = init.slice();
      const c = FileContent.fromBytes(init);
      const other = c.clone();
      for (let step = 0; step < 40; step++) {
        if (rnd(4) === 0) {
          const size = rnd(4 * CHUNK_SIZE);
          c.truncate(size);
          const m = new Uint8Array(size);
          m.set(model.subarray(0, Math.min(size, model.length)));
          model = m;
        } else {
          const off = rnd(4 * CHUNK_SIZE);
          const data = pattern(rnd(CHUNK_SIZE + 100)).map((x) => x ^ step);
          c.write(off, data);
          if (off + data.length > model.length) {
            const m = new Uint8Array(off + data.length);
            m.set(model);
            model = m;
          }
          model.set(data, off);
        }
        expect(c.size).toBe(model.length);
      }
      expect(same(c.read(0, c.size), model)).toBe(true);
      expect(same(Buffer.concat([...c.views()]), model)).toBe(true);
      expect(same(other.read(0, other.size), init)).toBe(true); // the clone never saw the writes
    }
  });
});

describe('FileContent snapshots', () => {
  it('bytes() and views() never alias chunks that later writes change', () => {
    const c = FileContent.empty();
    c.write(0, new Uint8Array([1, 2, 3]));
    const snap = c.bytes();
    const views = [...c.views()];
    c.write(0, new Uint8Array([9]));
    expect([...snap]).toEqual([1, 2, 3]);
    expect([...views[0]!]).toEqual([1, 2, 3]);
    const shared = new Uint8Array([4, 5]);
    expect(FileContent.fromBytes(shared).bytes()).toBe(shared); // layer bytes stay zero-copy
  });
});
