import { describe, expect, it } from 'vitest';
import { codeAndMessage } from '../../helpers/errors.ts';
import { buildContainerBundle, defaultGuestPaths, type ContainerBundleOptions } from '../../../src/runtime/spec/container.ts';
import { resolveContainerSpec, type ResolveSpecOptions } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import { resolvePath } from '../../../src/runtime/spec/users.ts';
import { dir, file, rootfsFromLayers } from './rootfs.ts';

const image = {
  Entrypoint: ['/entry'],
  Cmd: ['serve'],
  Env: ['A=1'],
  WorkingDir: '/srv/app',
  User: 'svc',
  Volumes: { '/var/data': {}, '/cache': {} },
  StopSignal: 'SIGQUIT',
};
const layers = [dir('etc'), file('etc/passwd', 'root:x:0:0::/root:/bin/sh\nsvc:x:500:500::/srv:/bin/sh\n'), file('etc/group', 'svc:x:500:\n')];

/** The spec as create resolves it, then the bundle as the VM runtime builds it at start. */
function bundle(o: ResolveSpecOptions & Omit<ContainerBundleOptions, 'spec'>) {
  const spec = resolveContainerSpec(o);
  return { ...buildContainerBundle({ ...o, spec }), c: spec };
}

describe('resolveContainerSpec + buildContainerBundle', () => {
  it('turns image config + run flags into a spec, /etc files, volumes and stop settings', () => {
    const rootfs = rootfsFromLayers(layers);
    const paths = defaultGuestPaths('abcdef0123456789', { init: '/usr/libexec/skiff-init' });
    const run = parseRunFlags({ volume: ['data:/var/data', '/home/me/src:/src:ro'], tmpfs: ['/cache'], memory: '64m', tty: true, init: true });
    const b = bundle({ id: 'abcdef0123456789', image, run, rootfs, paths, cgroupsPath: '/skiff/abc' });
    expect(b.c.hostname).toBe('abcdef012345');
    expect(b.spec.hostname).toBe('abcdef012345');
    expect(b.spec.root.path).toBe('/run/skiff/c/abcdef0123456789/rootfs');
    expect(b.spec.process.args).toEqual(['/sbin/docker-init', '--', '/entry', 'serve']);
    expect(b.spec.process.user).toEqual({ uid: 500, gid: 500 });
    expect(b.spec.process.cwd).toBe('/srv/app');
    expect(b.spec.process.terminal).toBe(true);
    expect(b.spec.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=abcdef012345', 'TERM=xterm', 'A=1', 'HOME=/srv']);
    expect(b.spec.linux.resources?.memory).toEqual({ limit: 64 << 20, swap: 128 << 20 });
    expect(b.spec.linux.cgroupsPath).toBe('/skiff/abc');
    // -v covers /var/data and --tmpfs covers /cache: no anonymous volume is left.
    expect(b.c.mounts).toEqual([
      { type: 'volume', name: 'data', destination: '/var/data', readOnly: false, anonymous: false, copyData: true },
      { type: 'bind', source: '/home/me/src', destination: '/src', readOnly: true, propagation: 'rprivate' },
    ]);
    const m = (d: string) => b.spec.mounts.find((x) => x.destination === d);
    expect(m('/var/data')?.source).toBe('/run/skiff/volumes/data');
    expect(m('/src')).toEqual({ destination: '/src', type: 'bind', source: '/run/skiff/c/abcdef0123456789/binds/0', options: ['rbind', 'rprivate', 'ro'] });
    expect(m('/cache')?.type).toBe('tmpfs');
    expect(m('/etc/hosts')?.source).toBe('/run/skiff/c/abcdef0123456789/etc/hosts');
    expect(m('/sbin/docker-init')?.source).toBe('/usr/libexec/skiff-init');
    expect(b.etcFiles.hostname).toBe('abcdef012345\n');
    expect(b.c.stopSignal).toBe(3);
    expect(b.c.stopTimeout).toBe(10);
    // The working directory was created in the writable layer, owned by the user.
    const st = rootfs.stat(resolvePath(rootfs, '/srv/app'));
    expect([st.kind, st.uid, st.gid]).toEqual(['directory', 500, 500]);
  });

  it('names anonymous volumes (-v /dest and the image Volumes not covered)', () => {
    const b = bundle({
      id: 'x1234567890123',
      image: { ...image, User: '' },
      run: parseRunFlags({ stopSignal: 'KILL', stopTimeout: '3', hostname: 'h1', volume: ['/scratch'] }),
      anonymousVolumeName: (d) => `anon${d.replaceAll('/', '-')}`,
      paths: defaultGuestPaths('x1234567890123'),
    });
    expect(b.c.mounts).toEqual([
      { type: 'volume', name: 'anon-scratch', destination: '/scratch', readOnly: false, anonymous: true, copyData: true },
      { type: 'volume', name: 'anon-cache', destination: '/cache', readOnly: false, anonymous: true, copyData: true },
      { type: 'volume', name: 'anon-var-data', destination: '/var/data', readOnly: false, anonymous: true, copyData: true },
    ]);
    expect(b.spec.mounts.find((x) => x.destination === '/var/data')?.source).toBe('/run/skiff/volumes/anon-var-data');
    const random = bundle({ id: 'y', image: { Cmd: ['x'], Volumes: { '/v': {} } }, paths: defaultGuestPaths('y') });
    expect(random.c.mounts[0]).toMatchObject({ type: 'volume', destination: '/v' });
    expect((random.c.mounts[0] as { name: string }).name).toMatch(/^[0-9a-f]{64}$/);
    expect(b.c.stopSignal).toBe(9);
    expect(b.c.stopTimeout).toBe(3);
    expect(b.c.hostname).toBe('h1');
  });

  it('fails clearly: unknown user (at start), bad image StopSignal and relative workdir (at create), --init without a binary', () => {
    expect(codeAndMessage(() => bundle({ id: 'i', image: { Cmd: ['x'], User: 'ghost' }, rootfs: rootfsFromLayers(layers), paths: defaultGuestPaths('i') }))).toBe(
      'INVALID_ARGUMENT: unable to find user ghost: no matching entries in passwd file',
    );
    expect(codeAndMessage(() => resolveContainerSpec({ id: 'i', image: { Cmd: ['x'], StopSignal: 'SIGNOPE' } }))).toBe(
      'INVALID_ARGUMENT: image config StopSignal: Invalid signal: SIGNOPE',
    );
    expect(codeAndMessage(() => resolveContainerSpec({ id: 'i', image: { Cmd: ['x'], WorkingDir: 'app' } }))).toBe(
      "INVALID_ARGUMENT: the working directory 'app' is invalid, it needs to be an absolute path",
    );
    expect(codeAndMessage(() => bundle({ id: 'i', image: { Cmd: ['x'] }, run: { init: true }, paths: defaultGuestPaths('i') }))).toBe(
      'UNSUPPORTED: --init needs an init binary in the guest (none configured for this runtime)',
    );
  });
});
