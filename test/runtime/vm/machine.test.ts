/**
 * The real guest under Node: one boot for the file (restored from a snapshot when the suite has
 * made one), then the agent's operations and crun containers with real namespaces and cgroups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../../src/node.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';
import type { AgentProcess } from '../../../src/runtime/vm/agent-process.ts';
import { busyboxConfig, prepareBusyboxRootfs } from './bundle.ts';

let m: Machine;
const home = mkdtempSync(join(tmpdir(), 'skiff-vm-test-'));
let nextId = 1;

beforeAll(async () => {
  m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home) });
  await prepareBusyboxRootfs(m.agent, '/run/bb/rootfs');
}, 180_000);

afterAll(async () => {
  await m?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

async function outcome(p: AgentProcess) {
  const [stdout, stderr, status] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  return { stdout, stderr, status };
}

/** One container in its own bundle directory (the rootfs is shared, read-write). */
async function container(config: Parameters<typeof busyboxConfig>[0]) {
  const id = `c${nextId++}`;
  const bundle = `/run/bundles/${id}`;
  await m.agent.mkdir({ path: bundle });
  const link = await m.agent.spawn({ args: ['ln', '-s', '/run/bb/rootfs', `${bundle}/rootfs`] });
  await link.wait();
  const proc = await m.agent.run({ id, bundle, config: busyboxConfig(config), tty: config.tty, rows: 24, cols: 80 });
  return { id, proc };
}

describe('guest agent', () => {
  it('says hello with the protocol version and answers ping', async () => {
    expect(m.agent.info).toMatchObject({ proto: 2, ready: true });
    const h = await m.health();
    expect(h.uptime_ms).toBeGreaterThan(0);
    expect(h.mem_free_kb).toBeGreaterThan(50_000);
  });

  it('counts the guest instructions a step costs (v86\'s counter, for benches)', async () => {
    const a = await m.instructions();
    await (await m.agent.spawn({ args: ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done'] })).wait();
    const b = await m.instructions();
    // A 2000-step shell loop is millions of instructions; the counter is 32 bits.
    expect(((b - a) >>> 0) / 1e6).toBeGreaterThan(1);
  });

  it('runs a guest process with separate stdout, stderr and the exact exit code', async () => {
    const r = await outcome(await m.agent.spawn({ args: ['sh', '-c', 'echo out; echo err >&2; exit 7'] }));
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', status: { exitCode: 7, oomKilled: false } });
  });

  it('reports the signal that killed a process', async () => {
    const p = await m.agent.spawn({ args: ['sleep', '30'] });
    await p.signal('SIGUSR1');
    expect(await p.wait()).toEqual({ exitCode: 138, signal: 10, oomKilled: false });
  });

  it('pipes stdin, including large inputs, and closes it', async () => {
    const p = await m.agent.spawn({ args: ['sh', '-c', 'wc -c; md5sum </dev/null >/dev/null'] });
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    p.write(big);
    p.closeStdin();
    const r = await outcome(p);
    expect(r.stdout.trim()).toBe('300000');
    expect(r.status.exitCode).toBe(0);
  });

  it('writes files and fails clearly on a bad path', async () => {
    await m.agent.writeFile({ path: '/run/t/hello.txt', data: 'hi there\n' });
    await m.agent.writeFile({ path: '/run/t/bin.dat', data: new Uint8Array([0, 1, 2, 255]) });
    const r = await outcome(await m.agent.spawn({ args: ['sh', '-c', 'cat /run/t/hello.txt; od -An -tu1 /run/t/bin.dat'] }));
    expect(r.stdout.replace(/\s+/g, ' ').trim()).toBe('hi there 0 1 2 255');
    await expect(m.agent.writeFile({ path: 'relative', data: 'x' })).rejects.toThrow(/absolute path/);
    await expect(m.agent.request('nonsense', {})).rejects.toThrow(/unknown op 'nonsense'/);
  });

  it('gives a spawned TTY process a terminal of the requested size', async () => {
    const p = await m.agent.spawn({ args: ['sh', '-c', 'stty size; tty'], tty: true, rows: 33, cols: 101 });
    const r = await outcome(p);
    expect(r.stdout).toMatch(/^33 101\r\n\/dev\/pts\/\d+\r\n$/);
  });
});

describe('crun containers', () => {
  it('runs in fresh namespaces: PID 1, own hostname, own cgroup, exact exit code', async () => {
    const { id, proc } = await container({
      args: ['sh', '-c', 'echo pid=$$ host=$(hostname); cat /proc/self/cgroup; readlink /proc/1/ns/pid; exit 42'],
      hostname: 'boxy',
    });
    const r = await outcome(proc);
    const guestNs = await outcome(await m.agent.spawn({ args: ['readlink', '/proc/1/ns/pid'] }));
    expect(r.status).toEqual({ exitCode: 42, oomKilled: false });
    const [line1, line2, ns] = r.stdout.trim().split('\n');
    expect(line1).toBe('pid=1 host=boxy');
    expect(line2).toBe('0::/');
    expect(ns).toMatch(/^pid:\[\d+\]$/);
    expect(ns).not.toBe(guestNs.stdout.trim());
    await m.agent.delete({ id });
  });

  it('reports SIGKILL from the host exactly, not as OOM', async () => {
    const { id, proc } = await container({ args: ['sleep', '60'] });
    await proc.signal('KILL');
    expect(await proc.wait()).toEqual({ exitCode: 137, signal: 9, oomKilled: false });
    await m.agent.delete({ id });
  });

  it('OOM-kills a process over memory.max and reports it', async () => {
    const { id, proc } = await container({
      // dd's 32 MiB buffer is touched as it reads /dev/zero; as PID 1 it is the one killed.
      args: ['sh', '-c', 'echo start; exec dd if=/dev/zero of=/dev/null bs=32M count=1'],
      memoryMax: 16 * 1024 * 1024,
    });
    const r = await outcome(proc);
    expect(r.stdout).toBe('start\n');
    expect(r.stderr).not.toMatch(/records out/);
    expect(r.status).toEqual({ exitCode: 137, signal: 9, oomKilled: true });
    await m.agent.delete({ id });
    expect((await m.health()).uptime_ms).toBeGreaterThan(0); // the VM lives on
  });

  it('stops a fork bomb at pids.max', async () => {
    // f | f & doubles until fork fails; PID 1 itself becomes `sleep` and never forks again.
    const { id, proc } = await container({ args: ['sh', '-c', 'f(){ f | f & }; f; exec sleep 60'], pidsMax: 16 });
    await new Promise((r) => setTimeout(r, 2000));
    const probe = await outcome(await m.agent.spawn({
      args: ['sh', '-c', `cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/${proc.pid}/cgroup); cat $cg/pids.max $cg/pids.current; sed -n 's/^max //p' $cg/pids.events`],
    }));
    const [max, current, refused] = probe.stdout.trim().split('\n').map(Number);
    expect(max).toBe(16);
    expect(current).toBeGreaterThan(1);
    expect(current).toBeLessThanOrEqual(16);
    expect(refused).toBeGreaterThan(0); // forks were refused at the limit
    expect((await m.health(20_000)).uptime_ms).toBeGreaterThan(0); // the guest answers meanwhile
    await proc.signal('KILL');
    expect(await proc.wait()).toEqual({ exitCode: 137, signal: 9, oomKilled: false });
    await m.agent.delete({ id, force: true });
  });

  it('runs an interactive TTY session with resize', async () => {
    const { id, proc } = await container({ args: ['sh'], tty: true });
    let seen = '';
    proc.stdout.on((c) => { if (c) seen += new TextDecoder().decode(c); });
    const until = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(seen); i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toMatch(re);
    };
    proc.write('echo $((6*7))\n');
    await until(/\r\n42\r\n/);
    await proc.resize({ rows: 30, cols: 100 });
    proc.write('stty size\n');
    await until(/30 100/);
    proc.write('exit 3\n');
    expect(await proc.wait()).toEqual({ exitCode: 3, oomKilled: false });
    await m.agent.delete({ id });
  });

  it('execs into a running container and create/start work apart', async () => {
    const id = `c${nextId++}`;
    const bundle = `/run/bundles/${id}`;
    await (await m.agent.spawn({ args: ['sh', '-c', `mkdir -p ${bundle} && ln -s /run/bb/rootfs ${bundle}/rootfs`] })).wait();
    const init = await m.agent.create({ id, bundle, config: busyboxConfig({ args: ['sleep', '60'], hostname: 'ex' }) });
    expect(init.pid).toBeGreaterThan(1);
    await m.agent.start({ id });
    const ex = await m.agent.exec({
      id,
      process: { args: ['sh', '-c', 'echo $(hostname) $$; exit 5'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    });
    const r = await outcome(ex);
    expect(r.status.exitCode).toBe(5);
    expect(r.stdout).toMatch(/^ex \d+\n$/);
    const tty = await m.agent.exec({
      id, tty: true, rows: 20, cols: 70,
      process: { terminal: true, args: ['sh', '-c', 'tty; stty size'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    });
    const t = await outcome(tty);
    expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\n20 70\r\n$/);
    expect(t.status.exitCode).toBe(0);
    await init.signal('KILL');
    await init.wait();
    await m.agent.delete({ id });
  });

  it('starts crun once, from the agent\'s sealed copy of it (crun does not clone itself again)', async () => {
    const id = `c${nextId++}`;
    const bundle = `/run/bundles/${id}`;
    await (await m.agent.spawn({ args: ['sh', '-c', `mkdir -p ${bundle} && ln -s /run/bb/rootfs ${bundle}/rootfs`] })).wait();
    const init = await m.agent.create({ id, bundle, config: busyboxConfig({ args: ['true'] }) });
    // Until `start` the container's process is still crun, waiting on its exec fifo.
    const probe = await outcome(await m.agent.spawn({ args: ['sh', '-c', `
      for f in /proc/1/fd/*; do case "$(readlink $f)" in /memfd:crun_cloned*) copy=$f;; esac; done
      stat -L -c %i "$copy" /proc/${init.pid}/exe
      readlink /proc/${init.pid}/exe`] }));
    const [agentCopy, running, link] = probe.stdout.trim().split('\n');
    expect(agentCopy).toMatch(/^\d+$/);
    // The same inode: crun found itself already sealed (CVE-2019-5736) and did not make its own copy.
    expect(running).toBe(agentCopy);
    expect(link).toMatch(/^\/memfd:crun_cloned/);
    await m.agent.start({ id });
    expect(await init.wait()).toEqual({ exitCode: 0, oomKilled: false });
    await m.agent.delete({ id });
  });

  it('fails a broken bundle with crun\'s own message', async () => {
    await expect(m.agent.run({ id: 'broken', bundle: '/run/nope', config: '{"ociVersion":"1.0.0"' }))
      .rejects.toThrow(/crun create broken failed/);
  });

  // Last: it kills the zygote, so the tests above ran with it.
  it('forks crun from a zygote made at start, and falls back to executing crun once the zygote is gone', async () => {
    const find = await outcome(await m.agent.spawn({ args: ['sh', '-c', `
      for p in /proc/[0-9]*; do if grep -q SKIFF_CRUN_ZYGOTE= $p/environ 2>/dev/null; then echo \${p#/proc/} $(readlink $p/exe); fi; done`] }));
    const [pid, exe] = find.stdout.trim().split(' ');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(exe).toMatch(/^\/memfd:crun_cloned/);
    // It mapped all of crun's and libc's code at start, with an anon_vma, so that fork copies
    // those page table entries into every crun child instead of the child faulting them in.
    const smaps = (await outcome(await m.agent.spawn({ args: ['cat', `/proc/${pid}/smaps`] }))).stdout;
    const text = [...smaps.matchAll(/^[0-9a-f]+-[0-9a-f]+ r-xp [^\n]*(crun_cloned|libc\.so\.6)[^\n]*\n(?:(?![0-9a-f]+-)[^\n]*\n)*/gm)].map((e) => e[0]);
    expect(text).toHaveLength(2);
    for (const e of text) {
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(e)?.[1]);
      expect(kb('Rss')).toBe(kb('Size'));
      expect(kb('Anonymous')).toBe(4);
    }
    await (await m.agent.spawn({ args: ['kill', '-9', pid!] })).wait();
    const { id, proc } = await container({ args: ['sh', '-c', 'echo after; exit 4'] });
    expect(await outcome(proc)).toEqual({ stdout: 'after\n', stderr: '', status: { exitCode: 4, oomKilled: false } });
    await m.agent.delete({ id });
  });
});
