/**
 * Bundles from buildContainerBundle run by crun 1.8.1 inside the real guest (our kernel, cgroup v2
 * with memory, pids and cpu controllers), where the limits are enforced: the full Docker posture
 * (seccomp, capabilities, device eBPF, masked paths) is accepted, the cgroup files hold what the
 * flags asked, --memory OOM-kills, --pids-limit holds, and --init works with skiff-init.c.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerBundle } from '../../../src/runtime/spec/container.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { buildExecProcess } from '../../../src/runtime/spec/exec.ts';
import { parseRunFlags, type RunFlags } from '../../../src/runtime/spec/options.ts';
import type { ImageRunConfig } from '../../../src/runtime/spec/process.ts';
import type { AgentProcess } from '../../../src/runtime/vm/agent-process.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../../src/node.ts';
import { buildSkiffInit } from './init-binary.ts';
import { dir, file, rootfsFromLayers } from './rootfs.ts';

const DIST = new URL('../../../vm-images/dist/manifest.json', import.meta.url).pathname;
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';
const ROOT = '/run/spec/rootfs';

describe('generated bundles in the real guest', () => {
  let m: Machine;
  let n = 0;
  const work = mkdtempSync(join(tmpdir(), 'skiff-spec-guest-'));

  beforeAll(async () => {
    // The guest artifacts are committed (CI verifies their manifest): missing ones are a failure.
    expect(existsSync(DIST), `${DIST} is missing (npm run vm:build)`).toBe(true);
    m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: null });
    const prep = await m.agent.spawn({
      args: ['sh', '-c', `set -e; mkdir -p ${ROOT}/bin ${ROOT}/etc ${ROOT}/tmp; cp /bin/busybox ${ROOT}/bin/; /bin/busybox --install -s ${ROOT}/bin`],
    });
    expect((await prep.wait()).exitCode).toBe(0);
    await m.agent.writeFile({ path: `${ROOT}/etc/passwd`, data: PASSWD });
    await m.agent.writeFile({ path: `${ROOT}/etc/group`, data: GROUP });
    const init = join(work, 'skiff-init');
    buildSkiffInit(init);
    await m.agent.writeFile({ path: '/run/spec/skiff-init', data: new Uint8Array(readFileSync(init)), mode: 0o755 });
  }, 180_000);

  afterAll(async () => {
    await m?.shutdown();
    rmSync(work, { recursive: true, force: true });
  });

  async function run(image: ImageRunConfig, flags: RunFlags) {
    const { id, proc } = await start(image, flags);
    const r = await outcome(proc);
    await m.agent.delete({ id, force: true });
    return r;
  }

  /** Writes the /etc files, creates the volumes and starts the container; returns its process. */
  async function start(image: ImageRunConfig, flags: RunFlags) {
    const id = `s${++n}`;
    const c = resolveContainerSpec({ id: `${id}-0123456789abcdef`, image, run: parseRunFlags(flags) });
    const b = { ...buildContainerBundle({
      id: `${id}-0123456789abcdef`,
      spec: c,
      rootfs: rootfsFromLayers([dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP)]),
      paths: { root: ROOT, etcDir: `/run/spec/${id}/etc`, volume: (v) => `/run/spec/volumes/${v.type === 'volume' ? v.name : 'bind'}`, init: '/run/spec/skiff-init' },
      cgroupsPath: `/skiff/${id}`,
    }), c };
    await m.agent.writeFile({ path: `/run/spec/${id}/etc/hosts`, data: b.etcFiles.hosts });
    await m.agent.writeFile({ path: `/run/spec/${id}/etc/hostname`, data: b.etcFiles.hostname });
    await m.agent.writeFile({ path: `/run/spec/${id}/etc/resolv.conf`, data: b.etcFiles.resolvConf });
    for (const v of b.c.mounts) if (v.type === 'volume') await m.agent.mkdir({ path: `/run/spec/volumes/${v.name}` });
    const proc = await m.agent.run({ id, bundle: `/run/spec/${id}`, config: b.spec, tty: b.spec.process.terminal === true, rows: 24, cols: 80 });
    return { id, proc, bundle: b };
  }

  async function outcome(p: AgentProcess) {
    const [stdout, stderr, status] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
    return { stdout, stderr, status };
  }

  const sh = (script: string): ImageRunConfig => ({ Cmd: ['/bin/sh', '-c', script] });

  it('accepts the Docker posture and writes the flags into the container\'s cgroup', async () => {
    const r = await run(
      sh(
        'cd /sys/fs/cgroup; echo $(cat memory.max) $(cat pids.max) $(cat cpu.max); ' +
          'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t " " "; ' +
          'hostname; tail -1 /etc/hosts; ulimit -n; echo $$; unshare -U true 2>/dev/null || echo unshare-refused; ' +
          'echo x > /dev/null && echo devnull-ok; mknod /tmp/mem c 1 1 && (head -c1 /tmp/mem >/dev/null 2>&1 || echo devmem-denied); ' +
          'echo v > /data/f && echo volume-ok; echo t > /run/t && echo tmpfs-ok',
      ),
      { memory: '48m', cpus: '0.5', pidsLimit: '32', hostname: 'guest1', volume: ['gv:/data'], tmpfs: ['/run:size=1m'] },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toEqual({ exitCode: 0, oomKilled: false });
    expect(r.stdout.trim().split('\n')).toEqual([
      `${48 * 2 ** 20} 32 50000 100000`,
      'CapEff: 00000000a80425fb',
      'NoNewPrivs: 1',
      'Seccomp: 2',
      'guest1',
      '127.0.0.1\tguest1',
      '1024',
      '1',
      'unshare-refused',
      'devnull-ok',
      'devmem-denied',
      'volume-ok',
      'tmpfs-ok',
    ]);
  }, 120_000);

  it('--memory OOM-kills (137, oomKilled) and the VM lives on', async () => {
    const r = await run(sh('x=$(head -c 40000000 /dev/zero | tr "\\0" a); echo survived ${#x}'), { memory: '16m' });
    expect(r.stdout).not.toContain('survived');
    expect(r.status).toMatchObject({ exitCode: 137, oomKilled: true });
    expect((await m.health()).uptime_ms).toBeGreaterThan(0);
  }, 120_000);

  it('--pids-limit holds a fork loop', async () => {
    // The loop runs in a subshell: busybox ash gives up on the first failed fork (all 8 pids in use:
    // sh, the subshell, 6 sleeps), the subshell exits, sh and its 6 sleeps remain: 7.
    const script = '(i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; read c < /sys/fs/cgroup/pids.current; ' +
      'read e < /sys/fs/cgroup/pids.events; echo $c; echo $e; kill -9 -1';
    const r = await run(sh(script), { pidsLimit: '8' });
    const [current, events] = r.stdout.trim().split('\n');
    expect(current, JSON.stringify(r)).toBe('7');
    expect(Number(events?.split(' ')[1])).toBeGreaterThanOrEqual(1);
    expect(r.status.exitCode).toBe(0);
  }, 120_000);

  it('--init runs skiff-init as PID 1 and passes the exit code; -u nobody resolves', async () => {
    const r = await run(sh('tr "\\0" " " < /proc/1/cmdline; echo; echo $$ $(id -u) $(id -g) $HOME; exit 9'), { init: true, user: 'nobody' });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').slice(1)).toEqual(['2 65534 65534 /nonexistent', '']);
    expect(r.stdout.startsWith('/sbin/docker-init -- /bin/sh -c ')).toBe(true);
    expect(r.status).toEqual({ exitCode: 9, oomKilled: false });
  }, 120_000);

  it('--init with -t: Ctrl-C stops a command that as PID 1 would ignore SIGINT', async () => {
    const { id, proc } = await start({ Cmd: ['sleep', '60'] }, { init: true, tty: true });
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    proc.write('\x03');
    const status = await proc.wait();
    expect(status).toEqual({ exitCode: 130, oomKilled: false });
    expect(Date.now() - t0).toBeLessThan(10_000);
    await m.agent.delete({ id, force: true });
  }, 120_000);

  it('exec with buildExecProcess joins the running container as another user', async () => {
    const { id, proc, bundle } = await start({ Cmd: ['sleep', '60'], Env: ['FROM=image'] }, { hostname: 'ex1' });
    const p = buildExecProcess({
      container: bundle.spec,
      cmd: ['/bin/sh', '-c', 'echo $FROM $X $HOME; id -u; hostname; cat /proc/1/cmdline | tr "\\0" " "'],
      env: ['X=exec'],
      user: 'nobody',
      rootfs: rootfsFromLayers([dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP)]),
    });
    const r = await outcome(await m.agent.exec({ id, process: p }));
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['image exec /nonexistent', '65534', 'ex1', 'sleep 60 ']);
    await proc.signal('KILL');
    await proc.wait();
    await m.agent.delete({ id, force: true });
  }, 120_000);
});
