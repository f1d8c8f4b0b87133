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

  // Docker's texts (distribution/reference ParseNormalizedNamed + go-digest), in the order Docker checks.
  const bad: [string, string][] = [
    ['', 'invalid reference format'],
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['Bad:Ref', 'invalid reference format: repository name (library/Bad) must be lowercase'],
    ['docker.io/Bad', 'invalid reference format: repository name (library/Bad) must be lowercase'],
    ['index.docker.io/library/Bad:1', 'invalid reference format: repository name (library/Bad) must be lowercase'],
    ['a/B', 'invalid reference format: repository name (a/B) must be lowercase'],
    ['localhost:5000/Foo:t', 'invalid reference format: repository name (Foo) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    ['busybox:-x', 'invalid reference format'],
    ['busybox:bad!tag', 'invalid reference format'],
    [`busybox:${'t'.repeat(129)}`, 'invalid reference format'],
    ['busybox@sha256:123', 'invalid reference format'],
    [`busybox@sha256:${'a'.repeat(40)}`, 'invalid checksum digest length'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    ['a!b', 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['a/b_', 'invalid reference format'],
    ['-a', 'invalid reference format'],
    ['ab'.repeat(32), `invalid repository name (${'ab'.repeat(32)}), cannot specify 64-byte hexadecimal strings`],
    [`example.com/${'a'.repeat(244)}`, 'repository name must not be more than 255 characters'],
    [`${'a'.repeat(238)}`, 'repository name must not be more than 255 characters'],
    ['bad_host.com:x/a', 'invalid reference format'],
  ];
  it('takes names up to 255 characters with the domain counted, as Docker does', () => {
    expect(parseReference(`example.com/${'a'.repeat(243)}`).path).toHaveLength(243);
    expect(parseReference('a'.repeat(237)).path).toHaveLength(245);
  });
  it('refuses a digest of another algorithm as unsupported', () => {
    expectSkiffError(() => parseReference(`busybox@sha512:${'a'.repeat(128)}`), 'UNSUPPORTED', /unsupported digest algorithm/);
  });
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      expectSkiffError(() => parseReference(input), 'INVALID_ARGUMENT', new RegExp(`^${re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    });
  }
});
