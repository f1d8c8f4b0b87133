/**
 * The engine's network model (engine/networks.ts): Docker's predefined networks, user networks and
 * their subnets, address allocation, connect/disconnect, the DNS answers the host-side resolver
 * gives, and what a runtime gets at start. The guest side is test/runtime/vm/network.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { networkSettingsView, networkView } from '../../src/engine/network-views.ts';
import { buildProcess, etcFilesFor } from '../../src/runtime/spec/container.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import type { ContainerRuntime, ExitStatus, RuntimeInterface, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

/** Records what it was asked; each process runs until killed. */
class NetRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  readonly started: StartContainerRequest[] = [];
  readonly plugged: Array<[string, string, RuntimeInterface]> = [];
  private ends = new Map<string, (s: ExitStatus) => void>();
  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    this.started.push(req);
    const done = new Promise<ExitStatus>((r) => this.ends.set(req.id, r));
    return {
      writeStdin() {}, closeStdin() {}, resize: async () => {},
      kill: async () => this.ends.get(req.id)?.({ exitCode: 137, signal: 'SIGKILL', oomKilled: false }),
      wait: () => done,
    };
  }
  async exec(): Promise<RuntimeProcess> { throw new Error('no exec'); }
  async connect(id: string, iface: RuntimeInterface) { this.plugged.push(['connect', id, iface]); }
  async disconnect(id: string, iface: RuntimeInterface) { this.plugged.push(['disconnect', id, iface]); }
  async release() {}
  async shutdown() {}
}

async function setup() {
  const rt = new NetRuntime();
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => rt } });
  await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }] }), tags: ['docker.io/library/v:1'] }]) });
  const run = async (flags: Parameters<typeof parseRunFlags>[0]) => {
    const c = await e.createContainer({ image: 'v:1', runtime: 'vm', run: parseRunFlags(flags) });
    await e.startContainer({ id: c.id });
    return e.inspectContainer({ id: c.id });
  };
  return { e, rt, run };
}

describe('networks', () => {
  it('lists the predefined networks, gives user networks the next free /16, and refuses what Docker refuses', async () => {
    const { e } = await setup();
    expect((await e.listNetworks()).map((n) => [n.name, n.driver, n.subnet]).sort()).toEqual([
      ['bridge', 'bridge', '172.17.0.0/16'], ['host', 'host', ''], ['none', 'null', '']]);
    const a = await e.createNetwork({ name: 'a' });
    expect(a).toMatchObject({ subnet: '172.18.0.0/16', gateway: '172.18.0.1', bridge: `br-${a.id.slice(0, 12)}`, userSubnet: false });
    const b = await e.createNetwork({ name: 'b', subnet: '10.9.0.0/24', gateway: '10.9.0.254', internal: true });
    expect(b).toMatchObject({ subnet: '10.9.0.0/24', gateway: '10.9.0.254', internal: true, userSubnet: true });
    expect((await e.createNetwork({ name: 'c' })).subnet).toBe('172.19.0.0/16');
    await expect(e.createNetwork({ name: 'a' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'network with name a already exists' });
    await expect(e.createNetwork({ name: 'x', subnet: '172.18.5.0/24' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'Pool overlaps with other one on this address space' });
    await expect(e.createNetwork({ name: 'x', subnet: '10.0.2.0/23' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(e.createNetwork({ name: 'x', subnet: '10.1.0.1/16' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('10.1.0.0/16') });
    await expect(e.createNetwork({ name: 'x', subnet: '10.1.0.0/16', gateway: '10.2.0.1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(e.createNetwork({ name: 'x', driver: 'overlay' })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('This node is not a swarm manager') });
    await expect(e.createNetwork({ name: 'x', driver: 'weave' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'plugin "weave" not found' });
    await expect(e.createNetwork({ name: '-x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await e.inspectNetwork({ id: a.id.slice(0, 5) })).name).toBe('a');
    await expect(e.inspectNetwork({ id: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'network nope not found' });
    await expect(e.removeNetwork({ id: 'bridge' })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: 'bridge is a pre-defined network and cannot be removed' });
    expect((await e.removeNetwork({ id: 'c' })).name).toBe('c');
    expect((await e.createNetwork({ name: 'd' })).subnet).toBe('172.19.0.0/16');
  });

  it('allocates addresses per network, honours --ip and aliases, and hands the runtime its interfaces', async () => {
    const { e, rt, run } = await setup();
    await e.createNetwork({ name: 'app', subnet: '10.5.0.0/16' });
    const first = await run({});
    const second = await run({ hostname: 'second' });
    expect(first.spec.network?.endpoints['bridge']).toMatchObject({ ip: '172.17.0.2', prefixLen: 16, gateway: '172.17.0.1', mac: '02:42:ac:11:00:02' });
    expect(second.spec.network?.endpoints['bridge']?.ip).toBe('172.17.0.3');
    const web = await run({ name: 'web', network: 'app', networkAlias: ['www'], ip: '10.5.0.40', addHost: ['h:host-gateway', 'db:1.2.3.4'] });
    expect(web.spec.network?.endpoints['app']).toMatchObject({ ip: '10.5.0.40', aliases: ['www'], requestedIp: '10.5.0.40' });
    const req = rt.started.at(-1)!;
    expect(req.network).toMatchObject({
      mode: 'bridge', nameservers: ['10.0.2.3'], extraHosts: [{ host: 'h', ip: '10.0.2.2' }, { host: 'db', ip: '1.2.3.4' }],
      interfaces: [{ network: 'app', bridge: expect.stringMatching(/^br-[0-9a-f]{12}$/), subnet: '10.5.0.0/16', gateway: '10.5.0.1', ip: '10.5.0.40', prefixLen: 16, internal: false }],
    });
    const etc = etcFilesFor('web', req.network);
    expect(etc.hosts).toContain('10.5.0.40\tweb\n');
    expect(etc.hosts).toContain('10.0.2.2\th\n');
    expect(etc.resolvConf).toContain('nameserver 10.0.2.3\n');
    await expect(run({ network: 'app', ip: '10.5.0.40' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('Address already in use') });
    await expect(run({ network: 'app', ip: '10.6.0.1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(run({ network: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'network missing not found' });
    await e.createNetwork({ name: 'auto' });
    await expect(run({ network: 'auto', ip: '172.18.0.9' })).rejects.toMatchObject({ message: expect.stringContaining('user configured subnets') });
    expect(() => parseRunFlags({ ip: '172.17.0.9' })).toThrow('user specified IP address is supported on user defined networks only');
    expect(() => parseRunFlags({ networkAlias: ['x'] })).toThrow('network-scoped alias is supported only for containers in user defined networks');
    expect(() => parseRunFlags({ addHost: ['nohost'] })).toThrow('bad format for add-host: "nohost"');

    const none = await run({ network: 'none' });
    expect(none.spec.network?.endpoints).toEqual({});
    expect(rt.started.at(-1)!.network).toMatchObject({ mode: 'none', interfaces: [], nameservers: [] });
    expect(etcFilesFor('x', rt.started.at(-1)!.network).hosts).toContain('127.0.0.1\tx\n');
    await run({ network: `container:${web.name}` });
    expect(rt.started.at(-1)!.network).toMatchObject({ mode: 'container', container: web.id });
    await run({ network: 'host' });
    expect(rt.started.at(-1)!.network).toMatchObject({ mode: 'host', interfaces: [] });

    const view = networkSettingsView(web, await e.listNetworks());
    expect(view).toMatchObject({ IPAddress: '', Networks: { app: { IPAddress: '10.5.0.40', IPPrefixLen: 16, Gateway: '10.5.0.1', Aliases: ['www'], IPAMConfig: { IPv4Address: '10.5.0.40' } } } });
    expect(networkSettingsView(first, [])).toMatchObject({ IPAddress: '172.17.0.2', Gateway: '172.17.0.1', MacAddress: '02:42:ac:11:00:02' });
    const app = networkView(await e.inspectNetwork({ id: 'app' }), await e.listContainers({ all: true }));
    expect(app).toMatchObject({ Name: 'app', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.1' }] }, Containers: { [web.id]: { Name: 'web', IPv4Address: '10.5.0.40/16' } } });
  });

  it('answers names on the same user network only, like Docker\'s embedded DNS', async () => {
    const { e, run } = await setup();
    await e.createNetwork({ name: 'front' });
    await e.createNetwork({ name: 'back' });
    const api = await run({ name: 'api', network: 'front', networkAlias: ['service'] });
    const other = await run({ name: 'other', network: 'back' });
    const dflt = await run({ name: 'plain' });
    const client = await run({ name: 'client', network: 'front' });
    const from = client.spec.network!.endpoints['front']!.ip!;
    expect(await e.resolveName({ name: 'api', sourceIp: from })).toEqual([api.spec.network!.endpoints['front']!.ip]);
    expect(await e.resolveName({ name: 'SERVICE.', sourceIp: from })).toEqual([api.spec.network!.endpoints['front']!.ip]);
    expect(await e.resolveName({ name: 'api.front', sourceIp: from })).toHaveLength(1);
    expect(await e.resolveName({ name: api.id.slice(0, 12), sourceIp: from })).toHaveLength(1);
    expect(await e.resolveAddress({ ip: api.spec.network!.endpoints['front']!.ip!, sourceIp: from })).toBe('api.front');
    // Not across networks, not for the default bridge, not for unknown names or sources.
    expect(await e.resolveName({ name: 'other', sourceIp: from })).toBeUndefined();
    expect(await e.resolveName({ name: 'api', sourceIp: other.spec.network!.endpoints['back']!.ip! })).toBeUndefined();
    expect(await e.resolveName({ name: 'api', sourceIp: dflt.spec.network!.endpoints['bridge']!.ip! })).toBeUndefined();
    expect(await e.resolveName({ name: 'example.com', sourceIp: from })).toBeUndefined();
    expect(await e.resolveName({ name: 'api', sourceIp: '10.0.2.2' })).toBeUndefined();
    // A container answers for every user network it is on, whichever of its addresses asks.
    await e.connectNetwork({ network: 'front', container: 'plain' });
    expect(await e.resolveName({ name: 'api', sourceIp: dflt.spec.network!.endpoints['bridge']!.ip! })).toEqual([api.spec.network!.endpoints['front']!.ip]);
    // A stopped container is not answered for.
    await e.killContainer({ id: 'api' });
    await e.waitContainer({ id: 'api' });
    expect(await e.resolveName({ name: 'api', sourceIp: from })).toBeUndefined();
  });

  it('connects, disconnects (plugging a running container), refuses rm while in use, and prunes', async () => {
    const { e, rt, run } = await setup();
    const net = await e.createNetwork({ name: 'extra' });
    const c = await run({ name: 'c1' });
    await e.connectNetwork({ network: 'extra', container: 'c1', aliases: ['one'] });
    expect(rt.plugged).toEqual([['connect', c.id, expect.objectContaining({ network: 'extra', ip: '172.18.0.2', bridge: net.bridge })]]);
    await expect(e.connectNetwork({ network: 'extra', container: 'c1' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'endpoint with name c1 already exists in network extra' });
    await expect(e.removeNetwork({ id: 'extra' })).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining('has active endpoints') });
    await e.disconnectNetwork({ network: 'extra', container: 'c1' });
    expect(rt.plugged[1]).toEqual(['disconnect', c.id, expect.objectContaining({ network: 'extra', ip: '172.18.0.2' })]);
    await expect(e.disconnectNetwork({ network: 'extra', container: 'c1' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('is not connected to network extra') });
    const none = await run({ name: 'nn', network: 'none' });
    await expect(e.connectNetwork({ network: 'extra', container: none.id })).rejects.toMatchObject({ code: 'CONFLICT' });

    // A stopped member keeps the network from prune but not from rm (Docker); its next start re-binds by name.
    await e.connectNetwork({ network: 'extra', container: 'c1' });
    await e.killContainer({ id: 'c1' });
    await e.waitContainer({ id: 'c1' });
    expect((await e.pruneNetworks()).deleted).toEqual([]);
    await e.removeNetwork({ id: 'extra' });
    await expect(e.startContainer({ id: 'c1' })).rejects.toMatchObject({ message: expect.stringContaining('network extra not found') });
    const again = await e.createNetwork({ name: 'extra', subnet: '10.7.0.0/24' });
    await e.startContainer({ id: 'c1' });
    expect(rt.started.at(-1)!.network!.interfaces.map((i) => [i.network, i.ip])).toEqual([['bridge', '172.17.0.2'], ['extra', '10.7.0.2']]);
    expect((await e.inspectContainer({ id: 'c1' })).spec.network!.endpoints['extra']!.networkId).toBe(again.id);
    await e.createNetwork({ name: 'unused' });
    expect((await e.pruneNetworks()).deleted).toEqual(['unused']);
  });

  it('run --link: a legacy link on the default bridge is an /etc/hosts line; on a user network an alias for the linker only', async () => {
    const { e, rt, run } = await setup();
    const db = await run({ name: 'db', hostname: 'dbhost' });
    const dbIp = db.spec.network!.endpoints['bridge']!.ip!;
    const app = await run({ name: 'app', link: ['db:database', 'db'] });
    const hosts = etcFilesFor('app', rt.started.at(-1)!.network).hosts;
    // Docker's line: the alias, the linked container's hostname, and its name unless the alias is the name.
    expect(hosts).toContain(`${dbIp}\tdatabase dbhost db\n`);
    expect(hosts).toContain(`${dbIp}\tdb dbhost\n`);
    expect(app.spec.network!.links).toEqual(['db:database', 'db']);
    // Errors as dockerd words them: at create a name that is no container, at start one not running.
    await expect(run({ link: ['nosuch:x'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'could not get container for nosuch: No such container: nosuch' });
    const stopped = await e.createContainer({ image: 'v:1', runtime: 'vm', run: parseRunFlags({ name: 'idle' }) });
    const linker = await e.createContainer({ image: 'v:1', runtime: 'vm', run: parseRunFlags({ name: 'linker', link: ['idle:i'] }) });
    await expect(e.startContainer({ id: linker.id })).rejects.toMatchObject({ message: expect.stringMatching(/: Cannot link to a non running container: \/idle AS \/linker\/i$/) });
    await e.startContainer({ id: stopped.id });
    await e.startContainer({ id: linker.id });
    expect(etcFilesFor('linker', rt.started.at(-1)!.network).hosts).toMatch(/\ti [0-9a-f]{12} idle\n/);
    expect(() => parseRunFlags({ network: 'host', link: ['db'] })).toThrow("conflicting options: host type networking can't be used with links");
    expect(() => parseRunFlags({ network: 'container:db', link: ['db'] })).toThrow("conflicting options: container type network can't be used with links");
    expect(() => parseRunFlags({ link: ['a:b:c'] })).toThrow('bad format for links: a:b:c');

    // A user network: no /etc/hosts line; the alias resolves for the linking container only.
    await e.createNetwork({ name: 'backend', subnet: '10.60.0.0/24' });
    const api = await run({ name: 'api', network: 'backend' });
    const web = await run({ name: 'web', network: 'backend', link: ['api:svc'] });
    const other = await run({ name: 'other', network: 'backend' });
    expect(rt.started.at(-2)!.network!.extraHosts).toEqual([]);
    const apiIp = api.spec.network!.endpoints['backend']!.ip!;
    expect(await e.resolveName({ name: 'svc', sourceIp: web.spec.network!.endpoints['backend']!.ip! })).toEqual([apiIp]);
    expect(await e.resolveName({ name: 'svc', sourceIp: other.spec.network!.endpoints['backend']!.ip! })).toBeUndefined();
  });

  it("run --link on the default bridge: Docker's legacy variables from the linked container's exposed ports and env, after PATH/HOSTNAME, under the linker's own env", async () => {
    const { e, rt, run } = await setup();
    const db = await run({ name: 'pg-main', expose: ['5432', '9000-9001/udp'], publish: ['8080'], env: ['POSTGRES_USER=app', 'LANG=C'] });
    expect(db.spec.exposedPorts).toEqual(['5432/tcp', '8080/tcp', '9000/udp', '9001/udp']);
    const ip = db.spec.network!.endpoints['bridge']!.ip!;
    await run({ name: 'web', link: ['pg-main:pg-db'], env: ['PG_DB_ENV_LANG=mine'] });
    const net = rt.started.at(-1)!.network!;
    expect(net.linkEnv).toEqual([
      `PG_DB_PORT=tcp://${ip}:5432`,
      `PG_DB_PORT_5432_TCP=tcp://${ip}:5432`, `PG_DB_PORT_5432_TCP_ADDR=${ip}`, 'PG_DB_PORT_5432_TCP_PORT=5432', 'PG_DB_PORT_5432_TCP_PROTO=tcp',
      `PG_DB_PORT_8080_TCP=tcp://${ip}:8080`, `PG_DB_PORT_8080_TCP_ADDR=${ip}`, 'PG_DB_PORT_8080_TCP_PORT=8080', 'PG_DB_PORT_8080_TCP_PROTO=tcp',
      `PG_DB_PORT_9000_UDP=udp://${ip}:9000`, `PG_DB_PORT_9000_UDP_ADDR=${ip}`, 'PG_DB_PORT_9000_UDP_PORT=9000', 'PG_DB_PORT_9000_UDP_PROTO=udp',
      `PG_DB_PORT_9001_UDP=udp://${ip}:9001`, `PG_DB_PORT_9001_UDP_ADDR=${ip}`, 'PG_DB_PORT_9001_UDP_PORT=9001', 'PG_DB_PORT_9001_UDP_PROTO=udp',
      `PG_DB_PORT_9000_UDP_START=udp://${ip}:9000`, 'PG_DB_PORT_9000_UDP_PORT_START=9000', `PG_DB_PORT_9000_UDP_END=udp://${ip}:9001`, 'PG_DB_PORT_9000_UDP_PORT_END=9001',
      'PG_DB_NAME=/web/pg-db',
      'PG_DB_ENV_POSTGRES_USER=app', 'PG_DB_ENV_LANG=C',
    ]);
    // The process: PATH, HOSTNAME, the link variables, then the container's Env (which wins on a clash).
    const env = buildProcess({ spec: rt.started.at(-1)!.spec, linkEnv: net.linkEnv! }).process.env;
    expect(env.slice(0, 3)).toEqual([expect.stringMatching(/^PATH=/), expect.stringMatching(/^HOSTNAME=/), `PG_DB_PORT=tcp://${ip}:5432`]);
    expect(env).toContain('PG_DB_ENV_LANG=mine');
    expect(env).not.toContain('PG_DB_ENV_LANG=C');

    // Not on a user network (there a link is only an alias), nor without a link.
    await e.createNetwork({ name: 'backend' });
    await run({ name: 'api', network: 'backend', expose: ['80'] });
    await run({ name: 'front', network: 'backend', link: ['api:svc'] });
    expect(rt.started.at(-1)!.network!.linkEnv).toBeUndefined();
    await run({ name: 'plain' });
    expect(rt.started.at(-1)!.network!.linkEnv).toBeUndefined();
    // A linked container with nothing exposed: only its name and env.
    await run({ name: 'bare', env: ['X=1'] });
    await run({ name: 'user', link: ['bare'] });
    expect(rt.started.at(-1)!.network!.linkEnv).toEqual(['BARE_NAME=/user/bare', 'BARE_ENV_X=1']);
  });

  it('refuses real networking on the WASI runtime (no sockets in preview1)', async () => {
    const { e } = await setup();
    await e.createNetwork({ name: 'n' });
    await expect(e.createContainer({ image: 'v:1', runtime: 'wasi', run: parseRunFlags({ network: 'n' }) }))
      .rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('WASI preview1 has no sockets') });
    expect((await e.createContainer({ image: 'v:1', runtime: 'wasi', run: parseRunFlags({ network: 'none' }) })).spec.network?.mode).toBe('none');
    expect((await e.createContainer({ image: 'v:1', runtime: 'wasi' })).spec.network?.mode).toBe('bridge');
  });
});
