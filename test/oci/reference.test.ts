import { describe, expect, it } from 'vitest';
import { familiarReference, formatReference, parseReference } from '../../src/oci/reference.ts';
import { expectSkiffError } from '../helpers/errors.ts';

const D = 'sha256:' + 'ab'.repeat(32);

describe('reference', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/user/app:v1', 'docker.io/user/app:v1', 'user/app:v1'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['[::1]:5000/x:t', '[::1]:5000/x:t', '[::1]:5000/x:t'],
    ['ghcr.io/o/r/deep/path:1.0-rc_1', 'ghcr.io/o/r/deep/path:1.0-rc_1', 'ghcr.io/o/r/deep/path:1.0-rc_1'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    ['a__b/c.d-e--f', 'docker.io/a__b/c.d-e--f:latest', 'a__b/c.d-e--f:latest'],
  ];
  for (const [input, full, familiar] of cases) {
    it(`${input}`, () => {
      const r = parseReference(input);
      expect(formatReference(r)).toBe(full);
      expect(familiarReference(r)).toBe(familiar);
      expect(formatReference(parseReference(full))).toBe(full);
    });
  }

  it('splits domain and path', () => {
    expect(parseReference('localhost:5000/a/b:tag')).toEqual({ domain: 'localhost:5000', path: 'a/b', tag: 'tag' });
    expect(parseReference('busybox', { defaultTag: false })).toEqual({ domain: 'docker.io', path: 'library/busybox' });
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['a/B', /lowercase/],
    ['busybox:', /tag ""/],
    ['busybox:-x', /tag "-x"/],
    [`busybox:${'t'.repeat(129)}`, /tag/],
    ['busybox@sha256:123', /64 lowercase hex/],
    ['a//b', /repository/],
    ['a/b_', /repository/],
    ['-a', /repository/],
    ['ab'.repeat(32), /64-byte hexadecimal/],
    [`example.com/${'a'.repeat(260)}`, /255/],
    ['bad_host.com:x/a', /registry/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      expectSkiffError(() => parseReference(input), 'INVALID_ARGUMENT', re);
    });
  }
});
