/**
 * Container networks on the real guest (our kernel's bridges and veths, the agent's namespaces and
 * policy routing, crun joining them) with the bundled busybox: a user network where containers
 * reach each other by name and alias (names answered by the engine through the host-side DNS
 * peer at 10.0.2.3), including one started later; no way across networks; the default bridge by
 * address only; `--network none` with loopback alone; Docker's /etc files; live connect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../../src/engine/bundled.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../../src/node.ts';
import { parseRunFlags, type RunFlags } from '../../../src/runtime/spec/options.ts';
import { runBusybox, type BusyboxRun } from '../../helpers/run-busybox.ts';

const td = new TextDecoder();
let e: Engine;

function run(flags: RunFlags): Promise<BusyboxRun> {
  return runBusybox(e, flags, { separate: true });
}

async function detached(flags: RunFlags): Promise<string> {
  const c = await e.runContainer({ image: 'skiff/busybox', run: parseRunFlags(flags), detach: true });
  return c.id;
}

async function exec(id: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const p = await e.execContainer({ id, cmd, io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
  return { code: (await p.wait()).exitCode, out: out.join('') };
}

async function ipOn(id: string, network: string): Promise<string> {
  return (await e.inspectContainer({ id })).spec.network!.endpoints[network]!.ip!;
}

/** busybox httpd serving `text` at / on port 80. */
const httpd = (text: string): string[] => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];
/**
 * wget with retries while the server comes up (a refused early try says nothing); prints the body or "FAIL". (`timeout`, not wget's
 * own -T: Debian's busybox 1.35 wget segfaults with -T.)
 */
const fetch = (url: string, tries = 30): string[] => ['sh', '-c', `for i in $(seq ${tries}); do timeout 3 wget -qO- ${url} 2>/tmp/err && exit 0; sleep 0.3; done; echo FAIL; cat /tmp/err; exit 1`];

beforeAll(async () => {
  e = new Engine({
    content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()),
    // The engine hands the runtime its resolver: the host-side DNS peer asks it for container names.
    runtimes: { vm: nodeRuntimes.vm! },
  });
  await e.createNetwork({ name: 'front' });
  await e.createNetwork({ name: 'back' });
  await run({ cmd: ['true'], network: 'none' }); // boots the guest
}, 300_000);

afterAll(async () => { await e?.shutdown(); }, 60_000);

describe('container networks in the guest', () => {
  it('a user network: by name and alias, a container started later too; nothing across networks', async () => {
    const client = await detached({ name: 'client', network: 'front', cmd: ['sleep', '600'] });
    await detached({ name: 'web', network: 'front', networkAlias: ['site'], cmd: httpd('hello-web') });
    expect(await exec(client, fetch('http://web/'))).toEqual({ code: 0, out: 'hello-web\n' });
    expect(await exec(client, fetch('http://site/'))).toEqual({ code: 0, out: 'hello-web\n' });
    // Started after the client: resolved all the same (names are answered per query).
    await detached({ name: 'later', network: 'front', cmd: httpd('hello-later') });
    expect(await exec(client, fetch('http://later/'))).toEqual({ code: 0, out: 'hello-later\n' });

    // Another network: neither the name nor the address is reachable.
    const webIp = await ipOn('web', 'front');
    const other = await run({ network: 'back', cmd: ['sh', '-c', `nslookup web 10.0.2.3 2>&1 | grep -c ${webIp}; timeout 3 wget -qO- http://${webIp}/ || echo BLOCKED`] });
    expect(other.out).toBe('0\nBLOCKED\n');

    // network connect plugs eth1 into the running container at once, and the name answers there.
    await detached({ name: 'db', network: 'back', cmd: httpd('hello-db') });
    expect((await exec(client, ['timeout', '3', 'wget', '-qO-', `http://${await ipOn('db', 'back')}/`])).code).not.toBe(0);
    await e.connectNetwork({ network: 'back', container: 'client' });
    const ifaces = await exec(client, ['sh', '-c', 'ip -4 addr show eth1 | grep -o "inet [0-9./]*"']);
    expect(ifaces.out).toBe(`inet ${await ipOn('client', 'back')}/16\n`);
    expect(await exec(client, fetch('http://db/'))).toEqual({ code: 0, out: 'hello-db\n' });
    await e.disconnectNetwork({ network: 'back', container: 'client' });
    expect((await exec(client, ['ip', 'link', 'show', 'eth1'])).code).not.toBe(0);

    await expect(e.removeNetwork({ id: 'front' })).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining('has active endpoints') });
  }, 240_000);

  it('the default bridge: reachable by address, no names (as Docker)', async () => {
    const srv = await detached({ name: 'plainweb', cmd: httpd('hello-bridge') });
    const ip = await ipOn(srv, 'bridge');
    expect(ip).toMatch(/^172\.17\.0\.\d+$/);
    const r = await run({ cmd: ['sh', '-c', `for i in $(seq 10); do timeout 3 wget -qO- http://${ip}/ && break; sleep 0.3; done; timeout 3 wget -qO- http://plainweb/ || echo NONAME`] });
    expect(r.out).toBe('hello-bridge\nNONAME\n');
    // A restart (namespace torn down and built again under the same id) keeps the address.
    await e.restartContainer({ id: srv, timeout: 1 });
    expect(await ipOn(srv, 'bridge')).toBe(ip);
    expect((await run({ cmd: fetch(`http://${ip}/`) })).out).toBe('hello-bridge\n');
  }, 240_000);

  it('an internal network: its containers reach each other (names included), nothing outside', async () => {
    await e.createNetwork({ name: 'sealed', internal: true });
    const inner = await detached({ name: 'inner', network: 'sealed', cmd: httpd('hello-inner') });
    const r = await run({ network: 'sealed', cmd: ['sh', '-c', 'for i in $(seq 10); do timeout 3 wget -qO- http://inner/ 2>/dev/null && break; sleep 0.3; done; ip route | grep -c default; timeout 3 wget -qO- http://10.0.2.2/ >/dev/null 2>&1 || echo OUT-BLOCKED'] });
    expect(r.out).toBe('hello-inner\n0\nOUT-BLOCKED\n');
    expect(await ipOn(inner, 'sealed')).toMatch(/^172\.\d+\.0\.2$/);
  }, 120_000);

  it('--network none: loopback only, no route', async () => {
    const r = await run({ network: 'none', cmd: ['sh', '-c', 'ls /sys/class/net; echo --; ip route; echo --; ip -o addr show lo | grep -c 127.0.0.1'] });
    expect(r).toMatchObject({ code: 0, out: 'lo\n--\n--\n1\n' });
  }, 120_000);

  it('container:NAME shares the other container\'s namespace; host is the guest VM\'s own', async () => {
    const owner = await detached({ name: 'owner', network: 'front', cmd: ['sleep', '600'] });
    const addr = ['sh', '-c', 'ip -4 addr show eth0 | grep -o "inet [0-9./]*"'];
    expect((await run({ network: 'container:owner', cmd: addr })).out).toBe(`inet ${await ipOn(owner, 'front')}/16\n`);
    expect((await run({ network: 'host', cmd: addr })).out).toBe('inet 10.0.2.15/24\n');
    await e.killContainer({ id: 'owner' });
    await e.waitContainer({ id: 'owner' });
    expect(await run({ network: 'container:owner', cmd: ['true'] }).catch((err: Error) => err.message)).toContain('cannot join network namespace of a non running container');
  }, 120_000);

  it('/etc/hosts, /etc/hostname and /etc/resolv.conf as Docker writes them', async () => {
    const r = await run({
      network: 'front', hostname: 'box', addHost: ['gw.local:host-gateway', 'db.local:10.1.2.3'], dnsSearch: ['example.test'],
      cmd: ['sh', '-c', 'cat /etc/hosts /etc/hostname /etc/resolv.conf; ip -o -4 addr show eth0; ip route'],
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/127\.0\.0\.1\tlocalhost\n/);
    expect(r.out).toContain('10.0.2.2\tgw.local\n10.1.2.3\tdb.local\n');
    expect(r.out).toMatch(/172\.18\.0\.\d+\tbox\nbox\n/);
    expect(r.out).toContain('nameserver 10.0.2.3\nsearch example.test\n');
    expect(r.out).toContain('default via 172.18.0.1 dev eth0');
  }, 120_000);
});
