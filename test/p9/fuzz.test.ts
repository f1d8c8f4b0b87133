/**
 * 1e5 fuzzed 9P messages in `npm test` (issue 10): half against an Overlay export, half against
 * a bind mount (HostDirFileSystem) beside a sentinel that must stay untouched. The long run is
 * `npm run fuzz -- --messages 1000000` (fuzz-cli.ts).
 */
import { describe, expect, it } from 'vitest';
import { fuzz9p } from './fuzz.ts';

describe('9P fuzzer', () => {
  for (const target of ['overlay', 'hostdir'] as const) {
    it(`50,000 messages against ${target === 'overlay' ? 'an Overlay' : 'a bind mount'}: no exception, no EIO, nothing outside touched`, () => {
      const r = fuzz9p({ target, seed: target === 'overlay' ? 1 : 2, messages: 50_000 });
      expect(r.findings).toEqual([]);
      // The run did real work: many successes and the escape attempts refused for the right reasons.
      expect(r.ok).toBeGreaterThan(5_000);
      expect(r.errnos['ENOTDIR'] ?? 0).toBeGreaterThan(100);
      expect(r.errnos['EIO'] ?? 0).toBe(0);
    }, 120_000);
  }
});
