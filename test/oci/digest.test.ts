import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chainIds, createHasher, parseDigest, sha256Digest, type DiffID } from '../../src/oci/digest.ts';
import { expectSkiffError } from '../helpers/errors.ts';

const sys = (input: string | Uint8Array): string =>
  'sha256:' + execFileSync('sha256sum', { input }).toString().split(' ')[0];

describe('digest', () => {
  it('matches sha256sum for empty, text and a 3 MiB buffer', () => {
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff);
    for (const b of [new Uint8Array(0), new TextEncoder().encode('hello\n'), big]) {
      expect(sha256Digest(b)).toBe(sys(b));
    }
  });

  it('streams: chunked updates equal one-shot', () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const h = createHasher();
    for (let i = 0; i < data.length; i += 977) h.update(data.subarray(i, i + 977));
    expect(h.size).toBe(data.length);
    expect(h.digest()).toBe(sha256Digest(data));
    const js = createHasher({ portable: true });
    for (let i = 0; i < data.length; i += 4099) js.update(data.subarray(i, i + 4099));
    expect(js.digest()).toBe(sys(data));
  });

  it('parseDigest accepts canonical, rejects others with clear messages', () => {
    const d = sha256Digest('x');
    expect(parseDigest(d)).toBe(d);
    expect(() => parseDigest('sha256:abc')).toThrow(/64 lowercase hex/);
    expect(() => parseDigest(d.toUpperCase())).toThrow(/sha256|form/);
    expectSkiffError(() => parseDigest('sha512:' + 'a'.repeat(128)), 'UNSUPPORTED', /sha512/);
    expect(() => parseDigest('nonsense')).toThrow(/nonsense/);
  });

  it('chainIds follows the image spec (checked against sha256sum)', () => {
    const a = sha256Digest('layer a') as string as DiffID;
    const b = sha256Digest('layer b') as string as DiffID;
    const c = sha256Digest('layer c') as string as DiffID;
    const ids = chainIds([a, b, c]);
    expect(ids[0]).toBe(a);
    expect(ids[1]).toBe(sys(`${a} ${b}`));
    expect(ids[2]).toBe(sys(`${ids[1]} ${c}`));
    expect(chainIds([])).toEqual([]);
    expect(() => chainIds(['bad' as DiffID])).toThrow(/diff_ids\[0\]/);
  });
});
