import { describe, expect, it } from 'vitest';
import { messageOf } from '../../helpers/errors.ts';
import { cleanPath, mergeTmpfsOptions, parseTmpfs, parseVolumeSpec } from '../../../src/runtime/spec/volumes.ts';

describe('parseVolumeSpec: Docker Linux parser cases (moby linux_parser_test.go)', () => {
  it.each([
    '/home',
    '/home:/home',
    '/home:/something/else',
    '/with space',
    '/home:/with space',
    'relative:/absolute-path',
    'hostPath:/containerPath:ro',
    '/hostPath:/containerPath:rw',
    '/rw:/ro',
    '/hostPath:/containerPath:shared',
    '/hostPath:/containerPath:rslave',
    '/hostPath:/containerPath:ro,z,shared',
    '/hostPath:/containerPath:Z,ro,slave',
    '/hostPath:/containerPath:ro,Z,rprivate',
    'name:/data:nocopy',
    'name:/data:ro,nocopy',
  ])('accepts %j', (spec) => {
    expect(() => parseVolumeSpec(spec)).not.toThrow();
  });

  it.each([
    ['', 'invalid volume specification'],
    ['./', 'mount path must be absolute'],
    ['../', 'mount path must be absolute'],
    ['/:../', 'mount path must be absolute'],
    ['/:path', 'mount path must be absolute'],
    [':', 'invalid volume specification'],
    ['/tmp:', 'invalid volume specification'],
    [':test', 'invalid volume specification'],
    [':/test', 'invalid volume specification'],
    ['tmp:', 'invalid volume specification'],
    ['::', 'invalid volume specification'],
    [':::', 'invalid volume specification'],
    ['/tmp:::', 'invalid volume specification'],
    ['/path:rw', 'invalid volume specification'],
    ['/path:ro', 'invalid volume specification'],
    ['path:ro', 'invalid volume specification'],
    ['/path:/path:sw', 'invalid mode'],
    ['/path:/path:rwz', 'invalid mode'],
    ['/path:/path:ro,rshared,rslave', 'invalid mode'],
    ['/path:/path:ro,z,rshared,rslave', 'invalid mode'],
    ['/path:shared', 'invalid volume specification'],
    ['name:/absolute-path:shared', 'invalid volume specification'],
    ['name:/absolute-path:rprivate', 'invalid volume specification'],
    ['/src:/', "destination can't be '/'"],
    ['/src:/a/..', "destination can't be '/'"],
    ['a:/x', 'includes invalid characters for a local volume name'],
    ['local/name:/tmp', 'includes invalid characters for a local volume name'],
  ])('rejects %j with %j', (spec, fragment) => {
    expect(messageOf(() => parseVolumeSpec(spec))).toContain(fragment);
  });

  it('gives exact Docker messages', () => {
    expect(messageOf(() => parseVolumeSpec('/tmp:'))).toBe("invalid volume specification: '/tmp:'");
    expect(messageOf(() => parseVolumeSpec('/p:/p:sw'))).toBe('invalid mode: sw');
    expect(messageOf(() => parseVolumeSpec('/:path'))).toBe(
      `invalid volume specification: '/:path': invalid mount config for type "bind": invalid mount path: 'path' mount path must be absolute`,
    );
    expect(messageOf(() => parseVolumeSpec('name:/x:shared'))).toBe(
      `invalid volume specification: 'name:/x:shared': invalid mount config for type "volume": field BindOptions must not be specified`,
    );
  });

  it('splits into bind, named and anonymous volumes (moby TestLinuxParseMountRawSplit)', () => {
    expect(parseVolumeSpec('/tmp:/tmp1')).toEqual({ type: 'bind', source: '/tmp', destination: '/tmp1', readOnly: false, propagation: 'rprivate' });
    expect(parseVolumeSpec('/tmp:/tmp2:ro')).toMatchObject({ type: 'bind', readOnly: true });
    expect(parseVolumeSpec('/tmp:/tmp3:rw')).toMatchObject({ type: 'bind', readOnly: false });
    expect(parseVolumeSpec('/a/../tmp/:/x/./y/:rshared')).toEqual({
      type: 'bind', source: '/tmp', destination: '/x/y', readOnly: false, propagation: 'rshared',
    });
    expect(parseVolumeSpec('name:/named1')).toEqual({ type: 'volume', name: 'name', destination: '/named1', readOnly: false, copyData: true });
    expect(parseVolumeSpec('name:/named3:ro')).toMatchObject({ type: 'volume', name: 'name', readOnly: true });
    expect(parseVolumeSpec('data.v_1-x:/d:nocopy')).toMatchObject({ name: 'data.v_1-x', copyData: false });
    const anon = parseVolumeSpec('/var/lib/data/');
    expect(anon).toEqual({ type: 'volume', destination: '/var/lib/data', readOnly: false, copyData: true });
    expect('name' in anon).toBe(false);
  });

  it('cleanPath is Go path.Clean', () => {
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('/')).toBe('/');
    expect(cleanPath('/../..')).toBe('/');
    expect(cleanPath('a/../../b')).toBe('../b');
    expect(cleanPath('//a//b/./c/')).toBe('/a/b/c');
  });
});

describe('--tmpfs', () => {
  it('adds Docker\'s noexec,nosuid,nodev and lets later flags override earlier ones', () => {
    expect(parseTmpfs('/run')).toEqual({ destination: '/run', options: ['noexec', 'nosuid', 'nodev'] });
    expect(parseTmpfs('/run:size=64m,mode=1777')).toEqual({
      destination: '/run',
      options: ['noexec', 'nosuid', 'nodev', 'size=64m', 'mode=1777'],
    });
    expect(parseTmpfs('/app/:exec,size=1m,size=2m').options).toEqual(['nosuid', 'nodev', 'exec', 'size=2m']);
    expect(parseTmpfs('/x:ro,uid=1000,gid=1000,nr_inodes=100').options).toEqual([
      'noexec', 'nosuid', 'nodev', 'ro', 'uid=1000', 'gid=1000', 'nr_inodes=100',
    ]);
    expect(parseTmpfs('/x:defaults').options).toEqual(['noexec', 'nosuid', 'nodev']);
  });

  it('rejects bad destinations and unknown options', () => {
    expect(messageOf(() => parseTmpfs('run'))).toBe("invalid tmpfs mount 'run': invalid mount path: 'run' mount path must be absolute");
    expect(messageOf(() => parseTmpfs('/'))).toBe("invalid tmpfs mount '/': invalid specification: destination can't be '/'");
    expect(messageOf(() => parseTmpfs('/run:foo'))).toBe('invalid tmpfs option ["foo"]');
    expect(messageOf(() => parseTmpfs('/run:color=blue'))).toBe('invalid tmpfs option ["color" "blue"]');
    expect(messageOf(() => mergeTmpfsOptions(['size']))).toBe('invalid tmpfs option ["size"]');
  });
});
