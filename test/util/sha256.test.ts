import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/util/sha256.ts';

describe('sha256Hex', () => {
  it('matches Node, through WebCrypto and through the JS fallback', async () => {
    const b = new Uint8Array(1_000_003).map((_, i) => (i * 31) & 0xff);
    const want = createHash('sha256').update(b).digest('hex');
    expect(await sha256Hex(b)).toBe(want);
    expect(await sha256Hex(b.subarray(7, 70_007))).toBe(createHash('sha256').update(b.subarray(7, 70_007)).digest('hex'));
    const subtle = globalThis.crypto.subtle;
    Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
    try {
      expect(await sha256Hex(b)).toBe(want);
    } finally {
      Object.defineProperty(globalThis.crypto, 'subtle', { value: subtle, configurable: true });
    }
  });
});
