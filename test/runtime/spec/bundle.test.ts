import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { buildRuntimeSpec, type RuntimeSpecOptions } from '../../../src/runtime/spec/bundle.ts';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/spec/capabilities.ts';
import { parseTmpfs } from '../../../src/runtime/spec/volumes.ts';
import type { OciMount, RuntimeSpec } from '../../../src/runtime/spec/types.ts';
import { requireTool } from '../../helpers/peers.ts';

const base: RuntimeSpecOptions = {
  process: { user: { uid: 0, gid: 0 }, args: ['/bin/sh'], env: ['PATH=/bin'], cwd: '/' },
  rootPath: '/run/skiff/c1/rootfs',
  hostname: 'c1',
};

const byDest = (spec: RuntimeSpec, dest: string): OciMount | undefined => spec.mounts.find((m) => m.destination === dest);

describe('buildRuntimeSpec: the defaults', () => {
  const spec = buildRuntimeSpec(base);

  it('is a 1.0.2 spec with the root, hostname and process', () => {
    expect(spec.ociVersion).toBe('1.0.2');
    expect(spec.root).toEqual({ path: '/run/skiff/c1/rootfs', readonly: false });
    expect(spec.hostname).toBe('c1');
    expect(spec.process.args).toEqual(['/bin/sh']);
    expect(spec.process.terminal).toBe(false);
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  it('has the pid, network, ipc, uts, mount and cgroup namespaces, no user namespace', () => {
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux.namespaces.every((n) => n.path === undefined)).toBe(true);
  });

  it('runs with Docker\'s posture: caps, no_new_privs, NOFILE 1024, seccomp', () => {
    const caps = spec.process.capabilities!;
    expect([...caps.bounding].sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
    expect(caps.effective).toEqual(caps.bounding);
    expect(caps.permitted).toEqual(caps.bounding);
    expect(caps.inheritable).toEqual([]);
    expect(caps.ambient).toEqual([]);
    expect(caps.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    expect(spec.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(spec.linux.seccomp?.architectures).toEqual(['SCMP_ARCH_X86']);
    const denied = spec.linux.seccomp!.syscalls!.filter((s) => !s.args).flatMap((s) => s.names);
    for (const name of ['mount', 'unshare', 'setns', 'keyctl', 'bpf', 'ptrace', 'reboot', 'init_module', 'clone3']) {
      expect(denied).toContain(name);
    }
    for (const name of ['read', 'write', 'execve', 'clone', 'fork', 'wait4', 'openat']) expect(denied).not.toContain(name);
  });

  it('mounts /proc, /sys read-only, /dev tmpfs, /dev/pts newinstance 0666, /dev/shm, /dev/mqueue, cgroup', () => {
    expect(byDest(spec, '/proc')).toMatchObject({ type: 'proc', source: 'proc' });
    expect(byDest(spec, '/sys')?.options).toContain('ro');
    expect(byDest(spec, '/sys/fs/cgroup')).toMatchObject({ type: 'cgroup' });
    expect(byDest(spec, '/sys/fs/cgroup')?.options).toContain('ro');
    expect(byDest(spec, '/dev')).toMatchObject({ type: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] });
    expect(byDest(spec, '/dev/pts')?.options).toEqual(expect.arrayContaining(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']));
    expect(byDest(spec, '/dev/shm')).toMatchObject({ type: 'tmpfs', source: 'shm' });
    expect(byDest(spec, '/dev/shm')?.options).toContain('size=65536k');
    expect(byDest(spec, '/dev/mqueue')).toMatchObject({ type: 'mqueue' });
    expect(byDest(spec, '/etc/hosts')).toBeUndefined();
    expect(spec.mounts.findIndex((m) => m.destination === '/dev')).toBeLessThan(spec.mounts.findIndex((m) => m.destination === '/dev/pts'));
  });

  it('masks and write-protects /proc like Docker', () => {
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']));
    expect(spec.linux.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('denies devices except Docker\'s list, and sets no limits without flags', () => {
    const devices = spec.linux.resources!.devices!;
    expect(devices[0]).toEqual({ allow: false, access: 'rwm' });
    const allowed = devices.filter((d) => d.allow).map((d) => `${d.type} ${d.major ?? '*'}:${d.minor ?? '*'} ${d.access}`);
    expect(allowed).toEqual(expect.arrayContaining(['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 136:* rwm']));
    expect(spec.linux.resources!.memory).toBeUndefined();
    expect(spec.linux.resources!.pids).toBeUndefined();
    expect(spec.linux.resources!.cpu).toBeUndefined();
  });
});

describe('buildRuntimeSpec: from the run flags', () => {
  it('--memory, --memory-swap, --pids-limit and --cpus become cgroup limits', () => {
    const r = (o: RuntimeSpecOptions['resources']) => buildRuntimeSpec({ ...base, resources: o }).linux.resources!;
    expect(r({ memory: 64 * 2 ** 20 }).memory).toEqual({ limit: 64 * 2 ** 20, swap: 128 * 2 ** 20 });
    expect(r({ memory: 64 * 2 ** 20, memorySwap: 64 * 2 ** 20 }).memory).toEqual({ limit: 64 * 2 ** 20, swap: 64 * 2 ** 20 });
    expect(r({ memory: 64 * 2 ** 20, memorySwap: -1 }).memory).toEqual({ limit: 64 * 2 ** 20, swap: -1 });
    expect(r({ pidsLimit: 50 }).pids).toEqual({ limit: 50 });
    expect(r({ pidsLimit: -1 }).pids).toBeUndefined();
    expect(r({ pidsLimit: 0 }).pids).toBeUndefined();
    expect(r({ cpus: 5e8 }).cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(r({ cpus: 1e7 }).cpu).toEqual({ quota: 1000, period: 100_000 });
    expect(r({ cpus: 1.5e9 }).cpu).toEqual({ quota: 150_000, period: 100_000 });
  });

  it('--read-only: the root and the generated /etc files are read-only', () => {
    const spec = buildRuntimeSpec({ ...base, readOnly: true, etcDir: '/run/skiff/c1/etc/' });
    expect(spec.root.readonly).toBe(true);
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      expect(byDest(spec, `/etc/${f}`)).toEqual({ destination: `/etc/${f}`, type: 'bind', source: `/run/skiff/c1/etc/${f}`, options: ['rbind', 'rprivate', 'ro'] });
    }
    const rw = buildRuntimeSpec({ ...base, etcDir: '/e' });
    expect(byDest(rw, '/etc/hosts')?.options).toEqual(['rbind', 'rprivate']);
  });

  it('volumes and binds are bind mounts of guest paths; tmpfs mounts replace defaults and sort parents first', () => {
    const spec = buildRuntimeSpec({
      ...base,
      binds: [
        { source: '/run/skiff/volumes/data', destination: '/data/sub/', readOnly: false },
        { source: '/run/skiff/volumes/data2', destination: '/data', readOnly: true, propagation: 'rslave' },
      ],
      tmpfs: [parseTmpfs('/dev/shm:size=8m'), parseTmpfs('/run')],
    });
    const dests = spec.mounts.map((m) => m.destination);
    expect(dests.filter((d) => d === '/dev/shm')).toHaveLength(1);
    expect(byDest(spec, '/dev/shm')).toEqual({ destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'size=8m'] });
    expect(dests.indexOf('/data')).toBeLessThan(dests.indexOf('/data/sub'));
    expect(byDest(spec, '/data')).toEqual({ destination: '/data', type: 'bind', source: '/run/skiff/volumes/data2', options: ['rbind', 'rslave', 'ro'] });
    expect(byDest(spec, '/data/sub')?.options).toEqual(['rbind', 'rprivate']);
    expect(byDest(spec, '/run')?.type).toBe('tmpfs');
  });

  it('--init puts the init first and mounts it; without a binary it is a clear error', () => {
    const spec = buildRuntimeSpec({ ...base, init: true, initBinary: { path: '/usr/libexec/skiff-init' } });
    expect(spec.process.args).toEqual(['/sbin/docker-init', '--', '/bin/sh']);
    expect(byDest(spec, '/sbin/docker-init')).toEqual({ destination: '/sbin/docker-init', type: 'bind', source: '/usr/libexec/skiff-init', options: ['rbind', 'ro', 'rprivate'] });
    try {
      buildRuntimeSpec({ ...base, init: true });
      throw new Error('expected an error');
    } catch (err) {
      expect(isSkiffError(err, 'UNSUPPORTED')).toBe(true);
      expect((err as Error).message).toContain('--init needs an init binary');
    }
  });

  it('tty, console size, cap add/drop, seccomp off, cgroups path, annotations', () => {
    const spec = buildRuntimeSpec({
      ...base, tty: true, consoleSize: { height: 40, width: 120 }, capAdd: ['sys_ptrace', 'CAP_NET_ADMIN'], capDrop: ['chown', 'MKNOD'],
      seccomp: false, cgroupsPath: '/skiff/c1', annotations: { 'org.skiff.name': 'web' },
    });
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.consoleSize).toEqual({ height: 40, width: 120 });
    expect(spec.process.capabilities!.bounding).toEqual(expect.arrayContaining(['CAP_SYS_PTRACE', 'CAP_NET_ADMIN', 'CAP_KILL']));
    expect(spec.process.capabilities!.bounding).not.toContain('CAP_CHOWN');
    expect(spec.process.capabilities!.bounding).not.toContain('CAP_MKNOD');
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.linux.cgroupsPath).toBe('/skiff/c1');
    expect(spec.annotations).toEqual({ 'org.skiff.name': 'web' });
    expect(buildRuntimeSpec({ ...base, capDrop: ['ALL'] }).process.capabilities!.bounding).toEqual([]);
    expect(() => buildRuntimeSpec({ ...base, capAdd: ['CAP_NOPE'] })).toThrow('unknown capability: "CAP_NOPE"');
  });
});

describe('compared with what `crun spec` generates (crun 1.8.1)', () => {
  const crun = requireTool('/usr/bin/crun', 'crun:i386');
  it('covers crun\'s mounts, masked and read-only paths, rlimits, and adds Docker\'s caps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-crunspec-'));
    try {
      execFileSync(crun, ['spec'], { cwd: dir });
      const theirs = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RuntimeSpec;
      const ours = buildRuntimeSpec(base);
      for (const m of theirs.mounts) {
        const mine = byDest(ours, m.destination);
        expect(mine, m.destination).toBeDefined();
        expect(mine!.type).toBe(m.type);
        // Every option crun sets we set too (we may add Docker's extras like nodev on /proc).
        expect(mine!.options ?? []).toEqual(expect.arrayContaining((m.options ?? []).filter((o) => o !== 'relatime')));
      }
      expect(ours.linux.maskedPaths).toEqual(expect.arrayContaining(theirs.linux.maskedPaths!));
      expect(ours.linux.readonlyPaths).toEqual(expect.arrayContaining(theirs.linux.readonlyPaths!));
      expect(ours.process.rlimits).toEqual(theirs.process.rlimits);
      expect(ours.process.capabilities!.bounding).toEqual(expect.arrayContaining(theirs.process.capabilities!.bounding));
      expect(ours.linux.namespaces.map((n) => n.type)).toEqual(expect.arrayContaining(theirs.linux.namespaces.map((n) => n.type)));
      expect(ours.linux.resources!.devices![0]).toEqual(theirs.linux.resources!.devices![0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
