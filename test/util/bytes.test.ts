import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/util/bytes.ts';

describe('concatBytes', () => {
  it('joins parts in order, views included', () => {
    const base = new Uint8Array([9, 1, 2, 3, 9]);
    const out = concatBytes([base.subarray(1, 4), new Uint8Array(0), new Uint8Array([4, 5])]);
    expect([...out]).toEqual([1, 2, 3, 4, 5]);
  });

  it('returns a single part itself and an empty array for none', () => {
    const one = new Uint8Array([1, 2]);
    expect(concatBytes([one])).toBe(one);
    expect(concatBytes([])).toEqual(new Uint8Array(0));
  });

  it('uses the size it is given', () => {
    expect([...concatBytes([new Uint8Array([1]), new Uint8Array([2])], 2)]).toEqual([1, 2]);
  });
});
