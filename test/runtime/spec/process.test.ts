import { describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/errors.ts';
import {
  DEFAULT_PATH, ensureWorkingDirectory, imageVolumes, resolveArgs, resolveEnv, resolveWorkdir, type ImageRunConfig,
} from '../../../src/runtime/spec/process.ts';
import { resolvePath } from '../../../src/runtime/spec/users.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { buildProcess } from '../../../src/runtime/spec/container.ts';
import type { RunOptions } from '../../../src/runtime/spec/options.ts';
import type { FileSystem } from '../../../src/fs/types.ts';
import { dir, file, rootfsFromLayers } from './rootfs.ts';

const nginxLike: ImageRunConfig = {
  Entrypoint: ['/docker-entrypoint.sh'],
  Cmd: ['nginx', '-g', 'daemon off;'],
  Env: ['PATH=/opt/bin:/usr/bin:/bin', 'NGINX_VERSION=1.25', 'LANG=C.UTF-8'],
  WorkingDir: '/srv',
  User: 'app',
};

describe('Entrypoint + Cmd (image-spec conversion, Docker merge)', () => {
  it('image only: Entrypoint then Cmd', () => {
    expect(resolveArgs(nginxLike)).toEqual(['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']);
    expect(resolveArgs({ Cmd: ['sh'] })).toEqual(['sh']);
    expect(resolveArgs({ Entrypoint: ['/bin/echo', 'hi'], Cmd: null })).toEqual(['/bin/echo', 'hi']);
  });

  it('a run command replaces Cmd and keeps Entrypoint', () => {
    expect(resolveArgs(nginxLike, { cmd: ['sh', '-c', 'ls'] })).toEqual(['/docker-entrypoint.sh', 'sh', '-c', 'ls']);
  });

  it('--entrypoint replaces Entrypoint and drops the image Cmd', () => {
    expect(resolveArgs(nginxLike, { entrypoint: ['/bin/sh'] })).toEqual(['/bin/sh']);
    expect(resolveArgs(nginxLike, { entrypoint: ['/bin/sh'], cmd: ['-c', 'id'] })).toEqual(['/bin/sh', '-c', 'id']);
  });

  it('--entrypoint "" clears it: the run command alone runs', () => {
    expect(resolveArgs(nginxLike, { entrypoint: [], cmd: ['id'] })).toEqual(['id']);
    expect(errorOf(() => resolveArgs(nginxLike, { entrypoint: [] }))).toEqual({ code: 'INVALID_ARGUMENT', message: 'no command specified' });
  });

  it('nothing to run is an error', () => {
    expect(errorOf(() => resolveArgs({})).message).toBe('no command specified');
    expect(errorOf(() => resolveArgs({ Cmd: [''] })).message).toBe('no command specified');
  });
});

describe('Env', () => {
  it('defaults PATH and sets HOSTNAME when the image has no env', () => {
    expect(resolveEnv({}, {}, 'c0ffee')).toEqual([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=c0ffee']);
  });

  it('image PATH replaces the default in place; -e overrides image values; TERM with a TTY', () => {
    expect(resolveEnv(nginxLike, { env: ['LANG=de_DE', 'EXTRA=1', 'EMPTY='], tty: true }, 'h')).toEqual([
      'PATH=/opt/bin:/usr/bin:/bin',
      'HOSTNAME=h',
      'TERM=xterm',
      'LANG=de_DE',
      'EXTRA=1',
      'EMPTY=',
      'NGINX_VERSION=1.25',
    ]);
  });

  it('-e can override PATH, HOSTNAME and TERM; the last -e of a key wins', () => {
    const env = resolveEnv({}, { env: ['HOSTNAME=mine', 'PATH=/x', 'A=1', 'A=2', 'TERM=dumb'], tty: true }, 'h');
    expect(env).toEqual(['PATH=/x', 'HOSTNAME=mine', 'TERM=dumb', 'A=2']);
  });

  it('entries without "=" in the image are dropped', () => {
    expect(resolveEnv({ Env: ['BROKEN', 'OK=1'] }, {}, 'h')).toEqual([`PATH=${DEFAULT_PATH}`, 'HOSTNAME=h', 'OK=1']);
  });
});

describe('WorkingDir', () => {
  it('-w, else the image, else /; cleaned; relative is refused like Docker', () => {
    expect(resolveWorkdir({})).toBe('/');
    expect(resolveWorkdir({ WorkingDir: '' })).toBe('/');
    expect(resolveWorkdir(nginxLike)).toBe('/srv');
    expect(resolveWorkdir(nginxLike, { workdir: '/tmp/../work/' })).toBe('/work');
    expect(errorOf(() => resolveWorkdir({}, { workdir: 'rel' })).message).toBe(
      "the working directory 'rel' is invalid, it needs to be an absolute path",
    );
    expect(errorOf(() => resolveWorkdir({ WorkingDir: 'app' })).code).toBe('INVALID_ARGUMENT');
  });
});

/** The spec as create resolves it, then the process as a runtime builds it at start. */
function processOf(image: ImageRunConfig, run: RunOptions, hostname: string, rootfs?: FileSystem) {
  return buildProcess({ spec: resolveContainerSpec({ id: hostname, image, run: { ...run, hostname } }), ...(rootfs ? { rootfs } : {}) });
}

describe('buildProcess', () => {
  const rootfs = rootfsFromLayers([
    dir('etc'),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'),
    file('etc/group', 'root:x:0:\napp:x:1000:\naudio:x:29:app\n'),
  ]);

  it('combines args, env, cwd and the resolved user; HOME from passwd', () => {
    const { process, user } = processOf(nginxLike, { tty: true }, 'web', rootfs);
    expect(process).toEqual({
      terminal: true,
      user: { uid: 1000, gid: 1000, additionalGids: [29] },
      args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
      env: ['PATH=/opt/bin:/usr/bin:/bin', 'HOSTNAME=web', 'TERM=xterm', 'NGINX_VERSION=1.25', 'LANG=C.UTF-8', 'HOME=/home/app'],
      cwd: '/srv',
    });
    expect(user.name).toBe('app');
  });

  it('-u overrides the image user; an explicit HOME is kept', () => {
    const { process } = processOf(nginxLike, { user: '0', env: ['HOME=/custom'] }, 'h', rootfs);
    expect(process.user).toEqual({ uid: 0, gid: 0 });
    expect(process.env).toContain('HOME=/custom');
    expect(process.env.filter((e) => e.startsWith('HOME='))).toHaveLength(1);
    expect(process.terminal).toBe(false);
  });

  it('--group-add appends groups by name or number, once each', () => {
    const { process } = processOf(nginxLike, { groupAdd: ['audio', '4000', 'app', '29'] }, 'h', rootfs);
    expect(process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 4000, 1000] });
    expect(errorOf(() => processOf(nginxLike, { groupAdd: ['wheel'] }, 'h', rootfs)).message).toBe(
      'unable to find group wheel: no matching entries in group file',
    );
  });

  it('names without a rootfs are an error; numbers are fine', () => {
    expect(errorOf(() => processOf({ Cmd: ['x'], User: 'app' }, {}, 'h')).message).toBe(
      'unable to find user app: open /etc/passwd: no such file or directory',
    );
    expect(processOf({ Cmd: ['x'], User: '5:6' }, {}, 'h').process.user).toEqual({ uid: 5, gid: 6 });
  });
});

describe('ensureWorkingDirectory and image volumes', () => {
  it('creates the missing part of the path owned by the user, leaves existing directories', () => {
    const fs = rootfsFromLayers([dir('srv')]);
    ensureWorkingDirectory(fs, '/srv/app/data', { uid: 1000, gid: 1000 });
    const st = fs.stat(resolvePath(fs, '/srv/app/data'));
    expect([st.kind, st.uid, st.gid, st.mode]).toEqual(['directory', 1000, 1000, 0o755]);
    expect(fs.stat(resolvePath(fs, '/srv')).uid).toBe(0);
    ensureWorkingDirectory(fs, '/srv/app/data', { uid: 1, gid: 1 });
    ensureWorkingDirectory(fs, '/', { uid: 1, gid: 1 });
  });

  it('fails clearly when a component is a file', () => {
    const fs = rootfsFromLayers([dir('srv'), file('srv/app', 'x')]);
    expect(errorOf(() => ensureWorkingDirectory(fs, '/srv/app/x', { uid: 0, gid: 0 }))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'creating working directory /srv/app/x: /srv/app is not a directory',
    });
  });

  it('lists the image Volumes not covered by -v or --tmpfs', () => {
    const image: ImageRunConfig = { Volumes: { '/data': {}, '/var/log/': {}, '/cache': {} } };
    expect(imageVolumes(image, ['/var/log'])).toEqual(['/cache', '/data']);
    expect(imageVolumes({}, [])).toEqual([]);
  });
});
