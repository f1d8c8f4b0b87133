/**
 * A network's IPAM options on the real guest: on a network created with --subnet, --ip-range,
 * --gateway and --aux-address, a container started without --ip gets the first free address of
 * the range (the auxiliary one skipped) with the subnet's prefix length and the given gateway as
 * its default route, and reaches a container that has a --ip outside the range, by name and by
 * address; a `network connect --link srv:srvlinked` alias resolves for the linking container only;
 * `run --link` on the default bridge writes Docker's legacy /etc/hosts line and the alias answers,
 * and sets Docker's legacy DB_PORT_* / DB_NAME / DB_ENV_* variables.
 * (A second IPv4 subnet on one bridge network is refused, as Docker's bridge driver
 * refuses it; the guest agent's bridges hold one gateway each.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../src/node.ts';
import { parseRunFlags, type RunFlags } from '../../src/runtime/spec/options.ts';
import { runBusybox, type BusyboxRun } from '../helpers/run-busybox.ts';

const td = new TextDecoder();
let e: Engine;

function run(flags: RunFlags): Promise<BusyboxRun> {
  return runBusybox(e, flags);
}

beforeAll(async () => {
  e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { vm: nodeRuntimes.vm! } });
}, 300_000);

afterAll(async () => {
  await e?.shutdown();
}, 120_000);

describe('--ip-range, --aux-address and --gateway in the guest', () => {
  it('a dynamic address from the range, the subnet\'s prefix and gateway, and a peer outside the range reachable', async () => {
    await e.createNetwork({ name: 'ranged', ipam: { config: [{ subnet: '10.77.0.0/16', ipRange: '10.77.9.0/29', gateway: '10.77.0.1', auxAddresses: { nas: '10.77.9.0' } }] } });
    const srv = await e.runContainer({
      image: 'skiff/busybox', detach: true,
      run: parseRunFlags({ name: 'srv', network: 'ranged', ip: '10.77.200.5', cmd: ['sh', '-c', 'mkdir -p /www && echo served-from-srv > /www/index.html && exec httpd -f -p 80 -h /www'] }),
    });
    expect((await e.inspectContainer({ id: srv.id })).spec.network!.endpoints['ranged']!.ip).toBe('10.77.200.5');
    const script = [
      'ip -4 addr show eth0 | grep inet', 'ip route | grep default',
      // The server may still be starting: retry (busybox wget's -T segfaults; `timeout` bounds each try).
      'for u in http://srv/ http://10.77.200.5/; do for i in $(seq 30); do timeout 3 wget -qO- $u && break; sleep 0.3; done; done',
    ].join('; ');
    const r = await run({ network: 'ranged', cmd: ['sh', '-c', script] });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/inet 10\.77\.9\.1\/16 /);
    expect(r.out).toMatch(/default via 10\.77\.0\.1 dev eth0/);
    expect(r.out.match(/served-from-srv/g)).toHaveLength(2);

    // network connect --link srv:srvlinked: "srvlinked" resolves to srv for the linking container only.
    const linker = await e.runContainer({ image: 'skiff/busybox', detach: true, run: parseRunFlags({ name: 'linker', cmd: ['sleep', '600'] }) });
    await e.connectNetwork({ network: 'ranged', container: 'linker', links: ['srv:srvlinked'] });
    const out: string[] = [];
    const p = await e.execContainer({ id: linker.id, cmd: ['sh', '-c', 'timeout 5 wget -qO- http://srvlinked/'], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => out.push(td.decode(d)) } });
    expect((await p.wait()).exitCode, out.join('')).toBe(0);
    expect(out.join('')).toContain('served-from-srv');
    const other = await run({ network: 'ranged', cmd: ['sh', '-c', 'nslookup srvlinked 10.0.2.3 >/dev/null 2>&1 && echo resolved || echo unknown'] });
    expect(other.out.trim()).toBe('unknown');
    await e.removeContainer({ id: linker.id, force: true });
    await e.removeContainer({ id: srv.id, force: true });
  }, 300_000);

  it('run --link NAME:ALIAS on the default bridge: the alias is in /etc/hosts and reaches NAME', async () => {
    const db = await e.runContainer({
      image: 'skiff/busybox', detach: true,
      run: parseRunFlags({ name: 'legacydb', hostname: 'dbhost', cmd: ['sh', '-c', 'mkdir -p /www && echo from-legacydb > /www/index.html && exec httpd -f -p 80 -h /www'] }),
    });
    const ip = (await e.inspectContainer({ id: db.id })).spec.network!.endpoints['bridge']!.ip!;
    const r = await run({ link: ['legacydb:database'], cmd: ['sh', '-c', 'grep database /etc/hosts; for i in $(seq 30); do timeout 3 wget -qO- http://database/ && break; sleep 0.3; done'] });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`${ip}\tdatabase dbhost legacydb\n`);
    expect(r.out).toContain('from-legacydb');
    await e.removeContainer({ id: db.id, force: true });
  }, 300_000);

  it("run --link on the default bridge: Docker's DB_PORT_* / DB_NAME / DB_ENV_* variables in the linking process", async () => {
    const db = await e.runContainer({
      image: 'skiff/busybox', detach: true,
      run: parseRunFlags({ name: 'envdb', expose: ['5432', '6000-6001/udp'], env: ['DB_SECRET=s3cret', 'MODE=primary'], cmd: ['sleep', '600'] }),
    });
    const ip = (await e.inspectContainer({ id: db.id })).spec.network!.endpoints['bridge']!.ip!;
    const r = await run({ name: 'envweb', link: ['envdb:db'], env: ['DB_ENV_MODE=overridden'], cmd: ['env'] });
    expect(r.code, r.out).toBe(0);
    // In Docker's order: PATH, HOSTNAME, the link's variables, then the container's own Env (which
    // replaces a link variable of the same name in place).
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines.slice(0, 2).map((l) => l.split('=')[0])).toEqual(['PATH', 'HOSTNAME']);
    expect(lines.filter((l) => l.startsWith('DB_'))).toEqual([
      `DB_PORT=tcp://${ip}:5432`,
      `DB_PORT_5432_TCP=tcp://${ip}:5432`, `DB_PORT_5432_TCP_ADDR=${ip}`, 'DB_PORT_5432_TCP_PORT=5432', 'DB_PORT_5432_TCP_PROTO=tcp',
      `DB_PORT_6000_UDP=udp://${ip}:6000`, `DB_PORT_6000_UDP_ADDR=${ip}`, 'DB_PORT_6000_UDP_PORT=6000', 'DB_PORT_6000_UDP_PROTO=udp',
      `DB_PORT_6001_UDP=udp://${ip}:6001`, `DB_PORT_6001_UDP_ADDR=${ip}`, 'DB_PORT_6001_UDP_PORT=6001', 'DB_PORT_6001_UDP_PROTO=udp',
      `DB_PORT_6000_UDP_START=udp://${ip}:6000`, 'DB_PORT_6000_UDP_PORT_START=6000', `DB_PORT_6000_UDP_END=udp://${ip}:6001`, 'DB_PORT_6000_UDP_PORT_END=6001',
      'DB_NAME=/envweb/db', 'DB_ENV_DB_SECRET=s3cret', 'DB_ENV_MODE=overridden',
    ]);
    // PATH and HOME of the linked container are not passed on; HOSTNAME is the linker's own.
    expect(r.out).not.toMatch(/^DB_ENV_(PATH|HOME)=/m);
    await e.removeContainer({ id: db.id, force: true });
  }, 300_000);
});
