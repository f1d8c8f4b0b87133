/**
 * The container pool (runtime/vm/pool.ts, vm-images/agent/pool.c) on the real guest: a container
 * started by claiming a pooled one is confined as crun confines one it starts itself (each case
 * runs the same command both ways and compares), its limits bite, two of them never see each
 * other, crun's state follows it (exec, stats, delete), and a snapshot restore claims the pool
 * its snapshot holds.
 */
import { describe, expect, it } from 'vitest';
import type { RunFlags } from '../../../src/runtime/spec/options.ts';
import type { ExitStatus } from '../../../src/runtime/types.ts';
import { nodeVmRuntime } from '../../../src/node.ts';
import { memorySnapshots } from '../../../src/runtime/vm/snapshot-store.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import type { VmProcess, VmRuntime } from '../../../src/runtime/vm/container-runtime.ts';
import { useGuest } from '../../helpers/guest.ts';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';

const dec = new TextDecoder();
const guest = useGuest();

interface Ran { id: string; status: ExitStatus; out: string; err: string; pooled: boolean }

async function start(cmd: string[], flags: RunFlags = {}, pooled = true): Promise<{ id: string; proc: VmProcess; out: () => string; err: () => string; pooled: boolean }> {
  const rt = guest.rt;
  if (pooled) {
    rt.setPoolSize(1);
    expect(await rt.fillPool()).toBe(1);
  } else {
    rt.setPoolSize(0);
  }
  const before = rt.pooledStarts;
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  try {
    const s = await guest.start(cmd, { onStdout: (c) => out.push(c.slice()), onStderr: (c) => err.push(c.slice()) }, flags);
    const join = (xs: Uint8Array[]) => xs.map((x) => dec.decode(x)).join('');
    return { id: s.id, proc: s.proc, out: () => join(out), err: () => join(err), pooled: rt.pooledStarts === before + 1 };
  } finally {
    rt.setPoolSize(1);
  }
}

async function run(cmd: string[], flags: RunFlags = {}, pooled = true): Promise<Ran> {
  const s = await start(cmd, flags, pooled);
  const status = await s.proc.wait();
  await guest.rt.release(s.id);
  return { id: s.id, status, out: s.out(), err: s.err(), pooled: s.pooled };
}

/** The same command claimed from the pool and started by crun: both outputs, `id` lines aside. */
async function both(cmd: string[], flags: RunFlags = {}): Promise<[Ran, Ran]> {
  const a = await run(cmd, flags, true);
  const b = await run(cmd, flags, false);
  expect(a.pooled, 'the first start claims the pool').toBe(true);
  expect(b.pooled).toBe(false);
  return [a, b];
}

async function guestSh(script: string): Promise<string> {
  const p = await (await guest.rt.machine()).agent.spawn({ args: ['sh', '-c', script] });
  const [out] = await Promise.all([p.stdout.text(), p.wait()]);
  return out;
}

describe('the container pool', () => {
  it('confines a claimed container as crun does: PID 1, hostname, mounts, capabilities, seccomp, cgroup', async () => {
    const probe = ['sh', '-c', [
      'echo pid=$$', 'hostname', 'cat /etc/hostname', 'id',
      'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t " " "',
      'cat /proc/self/cgroup', 'cat /proc/1/cmdline | tr "\\0" " "; echo', 'ulimit -n',
      'unshare -U true 2>/dev/null && echo unshare-allowed || echo unshare-refused',
      'ls /run/skiff 2>&1 | head -1', '(wc -c < /proc/timer_list) 2>&1', '(echo x > /proc/sys/kernel/domainname) 2>&1',
      'awk \'{print $5, $9}\' /proc/self/mountinfo | sort', 'ps -o pid,comm', 'pwd', 'env | sort',
    ].join('; ')];
    const [p, c] = await both(probe, { hostname: 'poolbox', env: ['FOO=bar'], workdir: '/tmp' });
    expect(p.err).toBe('');
    expect(p.status).toEqual({ exitCode: 0, oomKilled: false });
    // The same both ways (--hostname keeps the container's id out of it).
    expect(p.out).toBe(c.out);
    expect(p.out).toContain('pid=1\npoolbox\npoolbox\nuid=0(root) gid=0(root)');
    expect(p.out).toContain('CapEff: 00000000a80425fb\n');
    expect(p.out).toContain('NoNewPrivs: 1\nSeccomp: 2\n');
    expect(p.out).toContain('0::/\n');
    expect(p.out).toContain('unshare-refused');
    expect(p.out).toContain('FOO=bar');
    expect(p.out).toMatch(/\n\/tmp\n/);
  }, 240_000);

  it('takes the user, groups and working directory of the container, capabilities as crun leaves them', async () => {
    const probe = ['sh', '-c', 'id; grep -E "^Cap(Prm|Eff|Bnd):" /proc/self/status | tr -s "\\t " " "; pwd; stat -L -c "%u %g" /proc/self/fd/0 /proc/self/fd/1; touch /x 2>&1'];
    const [p, c] = await both(probe, { user: '1000:1000', groupAdd: ['10', '20'], workdir: '/home' });
    expect(p.out).toBe(c.out);
    expect(p.out).toMatch(/^uid=1000\(user\) gid=1000\(user\) groups=10\(wheel\),20\n/);
    expect(p.out).toContain('CapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 00000000a80425fb\n/home\n1000 1000\n1000 1000\n');
    expect(p.out).toContain('Permission denied');
  }, 240_000);

  it('limits bite in a claimed container: --memory OOM-kills with 137, --pids-limit holds a fork bomb', async () => {
    const oom = await run(['sh', '-c', 'x=$(head -c 40000000 /dev/zero | tr "\\0" a); echo survived ${#x}'], { memory: '16m' });
    expect(oom.pooled).toBe(true);
    expect(oom.status).toMatchObject({ exitCode: 137, oomKilled: true });
    const pids = await run(['sh', '-c', 'read m < /sys/fs/cgroup/pids.max; echo $m; bomb() { bomb | bomb & }; (bomb) 2>/dev/null; sleep 2 2>/dev/null; read c < /sys/fs/cgroup/pids.current; echo $c; kill -9 -1'], { pidsLimit: '20' });
    expect(pids.pooled).toBe(true);
    const [max, current] = pids.out.trim().split('\n');
    expect(max).toBe('20');
    expect(Number(current)).toBeLessThanOrEqual(20);
    const cpu = await run(['cat', '/sys/fs/cgroup/cpu.max', '/sys/fs/cgroup/memory.max'], { cpus: '0.5' });
    expect(cpu.pooled).toBe(true);
    expect(cpu.out).toBe('50000 100000\nmax\n');
  }, 480_000);

  it('two consecutive claimed containers see neither the other\'s files nor its processes', async () => {
    const a = await start(['sh', '-c', 'echo secret > /tmp/a-file; echo ready; sleep 100']);
    expect(a.pooled).toBe(true);
    await until(() => a.out().includes('ready'));
    const b = await run(['sh', '-c', 'ls /tmp; ps -o comm | grep -c sleep']);
    expect(b.pooled).toBe(true);
    expect(b.out).toBe('0\n'); // neither a's file nor a's sleep
    await a.proc.kill('SIGKILL');
    expect(await a.proc.wait()).toEqual({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
    await guest.rt.release(a.id);
  }, 240_000);

  it('keeps crun\'s state under the container\'s id: exec, stats, freeze, update and delete work', async () => {
    const s = await start(['sh', '-c', 'read line; echo got $line; sleep 100'], { interactive: true, hostname: 'statebox' });
    expect(s.pooled).toBe(true);
    s.proc.writeStdin(new TextEncoder().encode('hello\n'));
    await until(() => s.out().includes('got hello'));
    const seen: Uint8Array[] = [];
    const e = await guest.rt.exec({ id: s.id, args: ['sh', '-c', 'hostname; echo pid=$$; ps -o pid,comm | grep -c sleep'], tty: false, openStdin: false, io: { onStdout: (c) => seen.push(c.slice()), onStderr: (c) => seen.push(c.slice()) } });
    expect(await e.wait()).toEqual({ exitCode: 0, oomKilled: false });
    expect(seen.map((x) => dec.decode(x)).join('')).toMatch(/^statebox\npid=\d+\n1\n$/);
    const stats = await guest.rt.stats(s.id);
    expect(stats.pids).toBeGreaterThanOrEqual(1);
    await guest.rt.updateLimits(s.id, { pidsLimit: 50 });
    expect((await guest.rt.stats(s.id)).pidsLimit).toBe(50);
    await guest.rt.freeze(s.id, true);
    expect((await guest.rt.stats(s.id)).frozen).toBe(true);
    await guest.rt.freeze(s.id, false);
    const state = await guestSh(`cat /run/crun/${s.id}/status`);
    expect(JSON.parse(state)).toMatchObject({ pid: s.proc.pid });
    await s.proc.kill('SIGKILL');
    expect((await s.proc.wait()).exitCode).toBe(137);
    await guest.rt.release(s.id);
    // The delete runs a second after the release: then crun has forgotten it, and its cgroup is gone.
    await new Promise((r) => setTimeout(r, 4000));
    await until2(async () => !(await guestSh('ls /run/crun')).includes(s.id), 30_000);
    const cgroups = await guestSh('cd /sys/fs/cgroup/skiff && ls -d */');
    const pooled = (await guestSh('ls /run/skiff/netns')).split('\n').filter(Boolean);
    // What remains is the pool's own container (refilled): one cgroup, one namespace.
    expect(cgroups.split('\n').filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(pooled.length).toBeLessThanOrEqual(1);
  }, 240_000);

  it('leaves crun\'s path to what the pool does not fit: a TTY, --init, --read-only, a missing command', async () => {
    for (const flags of [{ tty: true }, { init: true }, { readOnly: true }, { capDrop: ['NET_RAW'] }, { securityOpt: ['seccomp=unconfined'] }] as RunFlags[]) {
      const r = await run(['true'], flags);
      expect(r.pooled, JSON.stringify(flags)).toBe(false);
      expect(r.status.exitCode).toBe(0);
    }
    await expect(start(['/no/such/binary'])).rejects.toThrow(/crun create .*no\/such\/binary.* not found/);
    expect(guest.rt.poolExportNames().length).toBe(2); // the slot is still there
  }, 240_000);
});

describe('the container pool on networks', () => {
  it('wires a claimed container as net_setup does: names on a user network, connect, container: join', async () => {
    const td = new TextDecoder();
    // An engine over the same runtime, so that it names containers and routes networks for it.
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { vm: () => guest.rt } });
    const run = async (flags: RunFlags) => {
      const out: string[] = [];
      const r = await e.runContainer({ image: 'skiff/busybox', run: parseRunFlags({ rm: true, ...flags }), io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
      return { code: r.exit.exitCode, out: out.join('') };
    };
    await e.createNetwork({ name: 'pfront' });
    await e.createNetwork({ name: 'pback' });
    guest.rt.setPoolSize(1);
    expect(await guest.rt.fillPool()).toBe(1);
    const before = guest.rt.pooledStarts;
    const web = (await e.runContainer({ image: 'skiff/busybox', run: parseRunFlags({ name: 'pweb', network: 'pfront', cmd: ['sh', '-c', 'mkdir -p /www && echo hello-pool > /www/index.html && exec httpd -f -p 80 -h /www'] }), detach: true })).id;
    expect(guest.rt.pooledStarts).toBe(before + 1);
    const ip = (await e.inspectContainer({ id: web })).spec.network!.endpoints['pfront']!.ip!;
    guest.rt.setPoolSize(0);
    try {
      const got = await run({ network: 'pfront', cmd: ['sh', '-c', 'for i in $(seq 30); do timeout 3 wget -qO- http://pweb/ 2>/dev/null && exit 0; sleep 0.3; done; echo FAIL'] });
      expect(got.out).toBe('hello-pool\n');
      const joined = await run({ network: 'container:pweb', cmd: ['sh', '-c', 'ip -o -4 addr show eth0 | awk \'{print $4}\''] });
      expect(joined.out).toBe(`${ip}/16\n`);
      await e.connectNetwork({ network: 'pback', container: 'pweb' });
      const out: string[] = [];
      const p = await e.execContainer({ id: web, cmd: ['sh', '-c', 'ls /sys/class/net | sort | tr "\\n" " "; ip route | grep -c default'], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
      expect((await p.wait()).exitCode).toBe(0);
      expect(out.join('')).toBe('eth0 eth1 lo 1\n');
    } finally {
      guest.rt.setPoolSize(1);
      await e.killContainer({ id: web }).catch(() => {});
      await e.waitContainer({ id: web }).catch(() => {});
    }
  }, 240_000);
});

describe('the container pool in a snapshot', () => {
  it('a restored guest claims the pool its snapshot holds', async () => {
    const snapshots = memorySnapshots();
    const first = await nodeVmRuntime({ machine: { snapshots } as never });
    let second: VmRuntime | undefined;
    try {
      const m1 = await first.machine();
      expect(m1.boot.restored).toBe(false);
      expect(first.poolExportNames().length).toBe(2);
      await first.shutdown();
      second = await nodeVmRuntime({ machine: { snapshots } as never });
      const m2 = await second.machine();
      expect(m2.boot.restored).toBe(true);
      const rec = await guest.engine.createContainer({ image: 'skiff/busybox', cmd: ['sh', '-c', 'echo hi from $(hostname); cat /etc/hostname; ls /bin/busybox'] });
      const rootfs = await guest.engine.containerFs({ id: rec.id });
      const spec = resolveContainerSpec({ id: rec.id, image: guest.image, run: parseRunFlags({ cmd: ['x'], hostname: 'restored' }) });
      spec.args = ['sh', '-c', 'echo hi from $(hostname); cat /etc/hostname; ls /bin/busybox'];
      const out: string[] = [];
      const p = await second.start({ id: rec.id, rootfs, spec, volumes: [], io: { onStdout: (c) => out.push(dec.decode(c)), onStderr: (c) => out.push(dec.decode(c)) } });
      expect(await p.wait()).toEqual({ exitCode: 0, oomKilled: false });
      expect(second.pooledStarts).toBe(1);
      expect(out.join('')).toBe('hi from restored\nrestored\n/bin/busybox\n');
    } finally {
      await first.shutdown();
      await second?.shutdown();
    }
  }, 400_000);
});

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until2(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 500));
  }
}
