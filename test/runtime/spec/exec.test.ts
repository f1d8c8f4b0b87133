import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAndMessage } from '../../helpers/errors.ts';
import { buildContainerBundle } from '../../../src/runtime/spec/container.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { buildExecProcess } from '../../../src/runtime/spec/exec.ts';
import { crunExec, describeWithCrun, makeBundle, type Bundle } from './crun.ts';
import { dir, file, rootfsFromLayers } from './rootfs.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nwheel:x:10:app\n';
const rootfs = rootfsFromLayers([dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP)]);

function container(paths: { root: string; etcDir: string } = { root: '/r', etcDir: '/e' }) {
  return buildContainerBundle({
    id: '0123456789abcdef',
    spec: resolveContainerSpec({ id: '0123456789abcdef', image: { Cmd: ['sleep', '30'], Env: ['FOO=image', 'KEEP=1'], WorkingDir: '/tmp' }, run: { env: ['BAR=run'] } }),
    rootfs,
    createWorkdir: false,
    paths: { ...paths, volume: () => '/unused' },
  });
}

describe('buildExecProcess', () => {
  const spec = container().spec;

  it('inherits env, user, cwd and the security posture; -e overrides; TERM with a TTY', () => {
    const p = buildExecProcess({ container: spec, cmd: ['sh'], env: ['FOO=exec', 'NEW=1'], tty: true, consoleSize: { height: 10, width: 20 } });
    expect(p.args).toEqual(['sh']);
    expect(p.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=0123456789ab', 'BAR=run', 'FOO=exec', 'KEEP=1', 'HOME=/root', 'TERM=xterm', 'NEW=1']);
    expect(p.user).toEqual({ uid: 0, gid: 0 });
    expect(p.cwd).toBe('/tmp');
    expect(p.terminal).toBe(true);
    expect(p.consoleSize).toEqual({ height: 10, width: 20 });
    expect(p.capabilities).toEqual(spec.process.capabilities);
    expect(p.capabilities).not.toBe(spec.process.capabilities);
    expect(p.rlimits).toEqual(spec.process.rlimits);
    expect(p.noNewPrivileges).toBe(true);
  });

  it('-u resolves through the rootfs and sets that user\'s HOME; -w replaces the cwd', () => {
    const p = buildExecProcess({ container: spec, cmd: ['id'], user: 'app', workdir: '/home/app/', rootfs });
    expect(p.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(p.env).toContain('HOME=/home/app');
    expect(p.cwd).toBe('/home/app');
    expect(p.terminal).toBe(false);
    expect(p.consoleSize).toBeUndefined();
  });

  it('rejects an empty command, a relative -w and unknown users', () => {
    expect(codeAndMessage(() => buildExecProcess({ container: spec, cmd: [] }))).toBe('INVALID_ARGUMENT: no command specified');
    expect(codeAndMessage(() => buildExecProcess({ container: spec, cmd: ['x'], workdir: 'rel' }))).toBe(
      "INVALID_ARGUMENT: the working directory 'rel' is invalid, it needs to be an absolute path",
    );
    expect(codeAndMessage(() => buildExecProcess({ container: spec, cmd: ['x'], user: 'ghost', rootfs }))).toBe(
      'INVALID_ARGUMENT: unable to find user ghost: no matching entries in passwd file',
    );
  });
});

describeWithCrun('exec under the real crun', () => {
  let bundle: Bundle;
  beforeAll(() => {
    bundle = makeBundle();
    writeFileSync(join(bundle.rootfs, 'etc/passwd'), PASSWD);
    writeFileSync(join(bundle.rootfs, 'etc/group'), GROUP);
    mkdirSync(join(bundle.rootfs, 'home/app'), { recursive: true });
    const etc = join(bundle.dir, 'etc');
    mkdirSync(etc);
    for (const f of ['hosts', 'hostname', 'resolv.conf']) writeFileSync(join(etc, f), '');
  });
  afterAll(() => bundle?.cleanup());

  it('joins the running container: same PID namespace, its env, the exec user', () => {
    const { spec } = container({ root: bundle.rootfs, etcDir: join(bundle.dir, 'etc') });
    const p = buildExecProcess({
      container: spec,
      cmd: ['/bin/sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo $FOO $BAR $HOME; id -u; id -G; pwd; hostname'],
      env: ['FOO=exec'],
      user: 'app',
      workdir: '/home/app',
      rootfs,
    });
    const r = crunExec(bundle, spec, p);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['sleep 30 ', 'exec run /home/app', '1000', '1000 10', '/home/app', '0123456789ab', '']);
  });
});
