import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../../src/fs/layer.ts';
import { Overlay } from '../../../src/fs/overlay.ts';
import { buildRuntimeSpec } from '../../../src/runtime/spec/bundle.ts';
import { mountpointEntries } from '../../../src/runtime/spec/mountpoints.ts';
import { resolvePath } from '../../../src/runtime/spec/users.ts';
import { parseTmpfs } from '../../../src/runtime/spec/volumes.ts';
import { dir, file } from './rootfs.ts';

const image = [dir('bin'), file('bin/sh', '#!'), dir('etc'), file('etc/hosts', '127.0.0.1 localhost\n'), dir('tmp'), dir('sys')];
const spec = buildRuntimeSpec({
  process: { user: { uid: 0, gid: 0 }, args: ['/bin/sh'], env: [], cwd: '/' },
  rootPath: '/r',
  hostname: 'h',
  etcDir: '/e',
  binds: [
    { source: '/v/data', destination: '/data', readOnly: false },
    { source: '/v/sub', destination: '/data/sub', readOnly: false },
    { source: '/v/deep', destination: '/srv/app/cache', readOnly: false },
    { source: '/host/file.conf', destination: '/etc/app.conf', readOnly: true },
  ],
  tmpfs: [parseTmpfs('/tmp'), parseTmpfs('/run')],
  init: true,
  initBinary: { path: '/init' },
});

describe('mountpointEntries (the init layer)', () => {
  it('lists exactly the missing mount points, parents first, files for file binds', () => {
    const lower = applyLayer(null, image);
    const entries = mountpointEntries({ spec, rootfs: new Overlay({ lower }), fileTargets: ['/etc/app.conf'], mtime: 1 });
    expect(entries.map((e) => `${e.header.type} ${e.header.name} ${e.header.mode.toString(8)}`)).toEqual([
      // Docker's defaults first: /dev/pts, /dev/shm, /dev/mqueue live in the /dev tmpfs; /sys
      // exists; /sys/fs/cgroup is inside sysfs.
      'directory proc/ 755',
      'directory dev/ 755',
      // Then the user mounts, shallowest first. /tmp and /etc/hosts exist in the image: untouched.
      'directory data/ 755',
      'directory run/ 755',
      'file etc/resolv.conf 644',
      'file etc/hostname 644',
      'file etc/app.conf 644',
      'directory sbin/ 755',
      'file sbin/docker-init 644',
      'directory srv/ 755',
      'directory srv/app/ 755',
      'directory srv/app/cache/ 755',
      // /data/sub is inside the /data volume: crun makes it there.
    ]);
  });

  it('applies as a layer under the container, after which nothing is missing', () => {
    const lower = applyLayer(null, image);
    const entries = mountpointEntries({ spec, rootfs: new Overlay({ lower }), fileTargets: ['/etc/app.conf'] });
    const withInit = applyLayer(lower, entries);
    const fs = new Overlay({ lower: withInit });
    expect(fs.stat(resolvePath(fs, '/etc/hostname')).kind).toBe('file');
    expect(fs.stat(resolvePath(fs, '/srv/app/cache')).kind).toBe('directory');
    expect(fs.stat(resolvePath(fs, '/etc/hosts')).size).toBe('127.0.0.1 localhost\n'.length);
    expect(mountpointEntries({ spec, rootfs: fs, fileTargets: ['/etc/app.conf'] })).toEqual([]);
  });
});
