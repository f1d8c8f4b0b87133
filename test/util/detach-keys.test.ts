/** Docker's detach keys: parsing as moby/term's ToBytes, and the scanner over re-chunked stdin. */
import { describe, expect, it } from 'vitest';
import { DetachScanner, parseDetachKeys } from '../../src/util/detach-keys.ts';

const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

describe('detach keys', () => {
  it('parse ctrl-<letter>, ctrl-punctuation and single characters; refuse the rest', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('a,ctrl-[,ctrl-@,ctrl-_')]).toEqual([97, 27, 0, 31]);
    for (const bad of ['ctrl-zz', 'ctrl-P', 'alt-x', '', 'ab']) expect(() => parseDetachKeys(bad)).toThrow(`Invalid detach keys (${bad}) provided`);
  });

  it('pass everything but the sequence, at any chunking; a broken prefix is released', () => {
    const input = bytes('ab\x10c\x10\x10d\x10\x11ignored');
    for (let width = 1; width <= input.length; width++) {
      const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
      let out = '';
      let detached = false;
      for (let i = 0; i < input.length && !detached; i += width) {
        const r = s.push(input.subarray(i, i + width));
        out += String.fromCharCode(...r.data);
        detached = r.detached;
      }
      expect([out, detached]).toEqual(['ab\x10c\x10\x10d', true]);
    }
  });
});
