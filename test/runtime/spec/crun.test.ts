/**
 * The generated config.json run by the real crun 1.8.1 (see crun.ts for how and what is not
 * enforced outside the guest).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerBundle, type ContainerBundleOptions } from '../../../src/runtime/spec/container.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags, type RunFlags } from '../../../src/runtime/spec/options.ts';
import type { ImageRunConfig } from '../../../src/runtime/spec/process.ts';
import { crunRun, describeWithCrun, makeBundle, type Bundle } from './crun.ts';
import { dir, file, rootfsFromLayers } from './rootfs.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\naudio:x:29:app\nvideo:x:44:app\n';

describeWithCrun('generated bundles under the real crun', () => {
  let bundle: Bundle;
  let etcDir: string;
  let volDir: string;

  beforeAll(() => {
    bundle = makeBundle();
    writeFileSync(join(bundle.rootfs, 'etc/passwd'), PASSWD);
    writeFileSync(join(bundle.rootfs, 'etc/group'), GROUP);
    etcDir = join(bundle.dir, 'etc');
    volDir = join(bundle.dir, 'volumes');
    mkdirSync(etcDir);
    mkdirSync(volDir);
  });
  afterAll(() => bundle?.cleanup());

  function run(image: ImageRunConfig, flags: RunFlags, extra: Partial<ContainerBundleOptions> = {}) {
    // The same passwd/group as the bundle's rootfs, in an Overlay, for name resolution.
    const rootfs = rootfsFromLayers([dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP)]);
    const b = buildContainerBundle({
      id: 'f00dfeedcafe0123456789',
      spec: resolveContainerSpec({ id: 'f00dfeedcafe0123456789', image, run: parseRunFlags(flags), anonymousVolumeName: (d) => `anon${d.replaceAll('/', '_')}` }),
      rootfs,
      paths: {
        root: bundle.rootfs,
        etcDir,
        volume: (v) => {
          const p = join(volDir, v.type === 'bind' ? v.source.replaceAll('/', '_') : v.name);
          mkdirSync(p, { recursive: true });
          return p;
        },
      },
      ...extra,
    });
    writeFileSync(join(etcDir, 'hosts'), b.etcFiles.hosts);
    writeFileSync(join(etcDir, 'hostname'), b.etcFiles.hostname);
    writeFileSync(join(etcDir, 'resolv.conf'), b.etcFiles.resolvConf);
    return { ...crunRun(bundle, b.spec), bundle: b };
  }

  const sh = (script: string): ImageRunConfig => ({ Entrypoint: ['/bin/sh', '-c'], Cmd: [script], Env: ['IMAGE_VAR=from-image'] });

  it('runs the command as PID 1 with the exit code, hostname, env and /etc files', () => {
    const r = run(sh('echo pid=$$; hostname; echo $IMAGE_VAR $RUN_VAR $HOME; pwd; cat /etc/hosts | tail -1; exit 7'), {
      env: ['RUN_VAR=from-run'],
      hostname: 'box1',
      workdir: '/tmp',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(7);
    expect(r.stdout.split('\n')).toEqual(['pid=1', 'box1', 'from-image from-run /root', '/tmp', '127.0.0.1\tbox1', '']);
  });

  it('default hostname is the id\'s first 12 characters; loopback is up and alone', () => {
    const r = run(sh('hostname; cat /etc/hostname; ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok'), {});
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['f00dfeedcafe', 'f00dfeedcafe', 'lo']);
    expect(r.stdout).toContain('ping-ok');
  });

  it('has Docker\'s capabilities, no_new_privs, seccomp, NOFILE 1024 and masked / read-only paths', () => {
    const r = run(
      sh(
        'grep -E "^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status; ulimit -n; ulimit -Hn;' +
          'wc -c < /proc/keys; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null || echo procsys-ro;' +
          'touch /sys/x 2>/dev/null || echo sys-ro',
      ),
      {},
    );
    const lines = r.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
    // Docker's 14 default capabilities as a bit mask: 0xa80425fb.
    expect(lines).toEqual([
      'CapInh: 0000000000000000',
      'CapEff: 00000000a80425fb',
      'CapBnd: 00000000a80425fb',
      'CapAmb: 0000000000000000',
      'NoNewPrivs: 1',
      'Seccomp: 2',
      '1024',
      '1024',
      '0',
      'procsys-ro',
      'sys-ro',
    ]);
  });

  it('seccomp refuses unshare(CLONE_NEWUSER), which needs no capability; without seccomp it works', () => {
    const probe = sh('unshare -U true && echo allowed || echo refused');
    expect(run(probe, {}).stdout.trim().split('\n').at(-1)).toBe('refused');
    expect(run(probe, {}, { seccomp: false }).stdout.trim()).toBe('allowed');
    expect(run(probe, {}).stderr).toContain('Operation not permitted');
  });

  it('resolves -u names to uid, gid and supplementary groups; HOME from passwd', () => {
    const r = run({ Cmd: ['/bin/sh', '-c', 'id -u; id -g; id -G; echo $HOME'] }, { user: 'app' });
    expect(r.stdout.split('\n')).toEqual(['1000', '1000', '1000 29 44', '/home/app', '']);
    // An explicit group replaces the primary gid and drops the supplementary groups.
    const r2 = run({ Cmd: ['/bin/sh', '-c', 'id -u; id -g; id -G'], User: 'app' }, { user: '1234:44' });
    expect(r2.stdout.split('\n')).toEqual(['1234', '44', '44', '']);
  });

  it('--read-only makes the root read-only; --tmpfs and volumes stay writable and land where the guest mounted them', () => {
    const r = run(sh('touch /newfile 2>/dev/null && echo root-rw || echo root-ro; echo x > /run/f && echo tmpfs-rw; echo hi > /data/f && echo vol-rw; echo no > /ro/f 2>/dev/null || echo ro-vol; cat /etc/hostname'), {
      readOnly: true,
      tmpfs: ['/run:size=1m'],
      volume: ['mydata:/data', '/host/ro:/ro:ro'],
    });
    expect(r.stdout.split('\n')).toEqual(['root-ro', 'tmpfs-rw', 'vol-rw', 'ro-vol', 'f00dfeedcafe', '']);
    expect(readFileSync(join(volDir, 'mydata', 'f'), 'utf8')).toBe('hi\n');
  });

  it('mounts the image\'s Volumes as anonymous volumes', () => {
    const r = run({ Cmd: ['/bin/sh', '-c', 'echo v > /cache/x && grep " /cache " /proc/mounts | cut -d" " -f2'], Volumes: { '/cache': {} } }, {});
    expect(r.stdout.trim()).toBe('/cache');
    expect(readFileSync(join(volDir, 'anon_cache', 'x'), 'utf8')).toBe('v\n');
  });

  it('--cap-add/--cap-drop, --group-add and --security-opt reach the process', () => {
    const r = run(
      sh('grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t " " "; id -G; unshare -U true && echo unshare-allowed'),
      { capDrop: ['ALL'], capAdd: ['kill', 'CAP_CHOWN'], groupAdd: ['audio', '4000'], securityOpt: ['seccomp=unconfined', 'no-new-privileges=false'] },
    );
    // CAP_CHOWN is bit 0, CAP_KILL bit 5.
    expect(r.stdout.split('\n')).toEqual(['CapEff: 0000000000000021', 'NoNewPrivs: 0', 'Seccomp: 0', '0 29 4000', 'unshare-allowed', '']);
  });
});
