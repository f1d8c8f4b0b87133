import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/util/base64.ts';

describe('base64', () => {
  it('matches Node and round-trips past the 32 KiB chunk', () => {
    const b = new Uint8Array(100_003);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7919) & 0xff;
    expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
    expect(fromBase64(toBase64(b))).toEqual(b);
    expect(toBase64(new Uint8Array(0))).toBe('');
  });
});
