/**
 * Docker's IPAM for skiff's bridge networks (engine/network-ipam.ts, network-options.ts, the CLI's
 * flag grouping in cli/commands/network-ipam-flags.ts), on the inputs `docker network create`
 * takes, with dockerd's and the docker CLI's error texts; and through the engine: --ip-range for
 * dynamic addresses only, --aux-address never given out, --ip anywhere else in the subnet,
 * default pools, IPv6 and unsupported driver options refused with their reason; connect --link
 * aliases answered by the network's DNS for the linking container only.
 */
import { describe, expect, it } from 'vitest';
import { consolidateIpam } from '../../src/cli/commands/network-ipam-flags.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { allocatePools, defaultPoolBlocks, pickAddress, validateIpamRequests } from '../../src/engine/network-ipam.ts';
import { networkSettingsView, networkView } from '../../src/engine/network-views.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { formatSubnet, intToIp, parseSubnet } from '../../src/runtime/spec/network.ts';
import { parseRunFlags } from '../../src/runtime/spec/options.ts';
import type { ContainerRuntime, ExitStatus, RuntimeProcess } from '../../src/runtime/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const flags = (o: Partial<Parameters<typeof consolidateIpam>[0]>) => consolidateIpam({ subnets: [], ipRanges: [], gateways: [], auxAddresses: [], ...o });

describe('the CLI groups --subnet, --ip-range, --gateway and --aux-address as docker/cli does', () => {
  it('matches each to the subnet holding it', () => {
    expect(flags({ subnets: ['172.28.0.0/16', '10.7.0.0/24'], ipRanges: ['10.7.0.128/25', '172.28.5.0/24'], gateways: ['172.28.5.254'], auxAddresses: ['host1=172.28.1.5', 'router=10.7.0.2', 'skipped'] })).toEqual([
      { subnet: '172.28.0.0/16', ipRange: '172.28.5.0/24', gateway: '172.28.5.254', auxAddresses: { host1: '172.28.1.5' } },
      { subnet: '10.7.0.0/24', ipRange: '10.7.0.128/25', auxAddresses: { router: '10.7.0.2' } },
    ]);
    expect(flags({})).toEqual([]);
  });

  it('refuses what the docker CLI refuses, in its words', () => {
    expect(() => flags({ ipRanges: ['10.1.0.0/24'] })).toThrow('every ip-range or gateway must have a corresponding subnet');
    expect(() => flags({ subnets: ['10.1.0.0/16', '10.1.2.0/24'] })).toThrow('multiple overlapping subnet configuration is not supported');
    expect(() => flags({ subnets: ['10.1.0.0/16'], gateways: ['10.2.0.1'] })).toThrow('no matching subnet for gateway 10.2.0.1');
    expect(() => flags({ subnets: ['10.1.0.0/16'], ipRanges: ['10.2.0.0/24'] })).toThrow('no matching subnet for range 10.2.0.0/24');
    expect(() => flags({ subnets: ['10.1.0.0/16'], auxAddresses: ['a=10.2.0.1'] })).toThrow('no matching subnet for aux-address 10.2.0.1');
    expect(() => flags({ subnets: ['10.1.0.0/16', '10.2.0.0/16'], ipRanges: ['10.1.1.0/24', '10.1.2.0/24'] })).toThrow('cannot configure multiple ranges (10.1.2.0/24, 10.1.1.0/24) on the same subnet (10.1.0.0/16)');
    expect(() => flags({ subnets: ['10.1.0.0/16', '10.2.0.0/16'], gateways: ['10.1.0.1', '10.1.0.2'] })).toThrow('cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/16)');
    expect(() => flags({ subnets: ['10.1.0.0/16'], gateways: ['nope'] })).toThrow('invalid argument "nope" for "--gateway" flag');
    expect(() => flags({ subnets: ['fd00::/64'] })).toThrow(/fd00::\/64: IPv6 is not supported: skiff's guest kernel is built without IPv6/);
  });
});

describe('dockerd\'s IPAM checks and pools', () => {
  it('lists every problem of a request under "invalid network config:"', () => {
    expect(() => validateIpamRequests([{ subnet: '10.1.0.1/16', ipRange: '10.2.0.0/15', gateway: '10.3.0.1', auxAddresses: { r: '10.4.0.1' } }])).toThrow(
      'invalid network config:\ninvalid subnet 10.1.0.1/16: it should be 10.1.0.0/16\n'
      + 'invalid ip-range 10.2.0.0/15: CIDR block is bigger than its parent subnet 10.1.0.0/16\n'
      + 'invalid ip-range 10.2.0.0/15: parent subnet 10.1.0.0/16 doesn\'t contain ip-range\n'
      + 'invalid gateway 10.3.0.1: parent subnet 10.1.0.0/16 doesn\'t contain this address\n'
      + 'invalid auxiliary address r: parent subnet 10.1.0.0/16 doesn\'t contain this address');
    expect(() => validateIpamRequests([{ subnet: '10.1.0.0/16', ipRange: '10.1.0.7/24' }])).toThrow('invalid ip-range 10.1.0.7/24: it should be 10.1.0.0/24');
  });

  it('takes Docker\'s default pools in order, skipping taken ones; "0.0.0.0/24" asks for a size', () => {
    const blocks = [...defaultPoolBlocks()].map(formatSubnet);
    expect(blocks.slice(0, 4)).toEqual(['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16', '172.20.0.0/16']);
    expect(blocks[14]).toBe('172.31.0.0/16');
    expect(blocks.slice(15, 17)).toEqual(['192.168.0.0/20', '192.168.16.0/20']);
    expect(blocks).toHaveLength(31);
    const taken = ['172.17.0.0/16', '172.18.5.0/24', '10.0.2.0/24'].map(parseSubnet);
    expect(allocatePools([], taken)).toEqual([{ subnet: '172.19.0.0/16', gateway: '172.19.0.1' }]);
    expect(allocatePools([{ subnet: '0.0.0.0/24' }], taken)).toEqual([{ subnet: '172.18.0.0/24', gateway: '172.18.0.1' }]);
    const all = [...defaultPoolBlocks()];
    expect(() => allocatePools([], all)).toThrow('all predefined address pools have been fully subnetted');
  });

  it('refuses overlaps, reserves the gateway and auxiliary addresses, takes the default gateway from the range', () => {
    const taken = [parseSubnet('172.17.0.0/16')];
    expect(() => allocatePools([{ subnet: '172.17.3.0/24' }], taken)).toThrow('Pool overlaps with other one on this address space');
    expect(() => allocatePools([{ subnet: '10.1.0.0/16' }, { subnet: '10.1.0.0/24' }], taken)).toThrow('Pool overlaps with other one on this address space');
    expect(allocatePools([{ subnet: '172.28.0.0/16', ipRange: '172.28.5.0/24' }], taken)).toEqual([{ subnet: '172.28.0.0/16', ipRange: '172.28.5.0/24', gateway: '172.28.5.0' }]);
    expect(() => allocatePools([{ subnet: '10.1.0.0/24', gateway: '10.1.0.0' }], taken)).toThrow('failed to allocate gateway (10.1.0.0): Address already in use');
    expect(() => allocatePools([{ subnet: '10.1.0.0/24', gateway: '10.1.0.9', auxAddresses: { a: '10.1.0.9' } }], taken)).toThrow('failed to allocate secondary ip address (a:10.1.0.9): Address already in use');
    expect(() => allocatePools([{ subnet: '10.1.0.0/31' }], taken)).toThrow(/skiff's guest takes prefixes \/8 to \/30/);

    const [pool] = allocatePools([{ subnet: '10.1.0.0/24', ipRange: '10.1.0.8/30', gateway: '10.1.0.1', auxAddresses: { printer: '10.1.0.8' } }], taken);
    const used = new Set<number>();
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ip = pickAddress(pool!, used);
      if (ip === undefined) break;
      used.add(ip);
      got.push(intToIp(ip));
    }
    // 10.1.0.8 is the printer's: the range's other three addresses, then nothing.
    expect(got).toEqual(['10.1.0.9', '10.1.0.10', '10.1.0.11']);
    expect(pickAddress(pool!, used)).toBeUndefined();
    expect(intToIp(pickAddress(pool!, used, '10.1.0.200')!)).toBe('10.1.0.200');
    expect(() => pickAddress(pool!, used, '10.1.0.8')).toThrow('Address already in use');
    expect(() => pickAddress(pool!, used, '10.1.0.255')).toThrow('Address already in use');
    expect(() => pickAddress(pool!, used, '10.9.0.5')).toThrow('invalid address 10.9.0.5: It does not belong to any of this network\'s subnets');
  });
});

class IdleRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  async start(): Promise<RuntimeProcess> {
    let end!: () => void;
    const done = new Promise<ExitStatus>((r) => (end = () => r({ exitCode: 0, oomKilled: false })));
    return { writeStdin() {}, closeStdin() {}, resize: async () => {}, kill: async () => end(), wait: () => done };
  }
  async exec(): Promise<RuntimeProcess> { throw new Error('no exec'); }
  async release() {}
  async shutdown() {}
}

async function engine() {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => new IdleRuntime() } });
  await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }] }), tags: ['docker.io/library/v:1'] }]) });
  const run = async (f: Parameters<typeof parseRunFlags>[0]) => {
    const c = await e.createContainer({ image: 'v:1', runtime: 'vm', run: parseRunFlags(f) });
    await e.startContainer({ id: c.id });
    return e.inspectContainer({ id: c.id });
  };
  return { e, run };
}

describe('networks with --ip-range and --aux-address', () => {
  it('gives dynamic addresses from the range only, --ip anywhere else, and never an auxiliary address', async () => {
    const { e, run } = await engine();
    const net = await e.createNetwork({ name: 'ranged', ipam: { config: [{ subnet: '10.30.0.0/16', ipRange: '10.30.7.0/30', gateway: '10.30.0.1', auxAddresses: { nas: '10.30.7.0', dns: '10.30.0.53' } }], options: {} } });
    expect(net).toMatchObject({ subnet: '10.30.0.0/16', ipRange: '10.30.7.0/30', gateway: '10.30.0.1', auxAddresses: { nas: '10.30.7.0', dns: '10.30.0.53' }, userSubnet: true });
    const a = await run({ network: 'ranged' });
    const b = await run({ network: 'ranged' });
    expect([a, b].map((c) => c.spec.network?.endpoints['ranged']?.ip)).toEqual(['10.30.7.1', '10.30.7.2']);
    expect(a.spec.network?.endpoints['ranged']).toMatchObject({ prefixLen: 16, gateway: '10.30.0.1' });
    const fixed = await run({ network: 'ranged', ip: '10.30.200.9' });
    expect(fixed.spec.network?.endpoints['ranged']?.ip).toBe('10.30.200.9');
    await expect(run({ network: 'ranged', ip: '10.30.0.53' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('Address already in use') });
    await expect(run({ network: 'ranged', ip: '10.31.0.5' })).rejects.toMatchObject({ message: expect.stringContaining('It does not belong to any of this network\'s subnets') });
    expect((await run({ network: 'ranged' })).spec.network?.endpoints['ranged']?.ip).toBe('10.30.7.3');
    await expect(run({ network: 'ranged' })).rejects.toMatchObject({ message: `no available IPv4 addresses on this network's address pools: ranged (${net.id})` });

    const view = networkView(net, []) as { IPAM: unknown; EnableIPv6: boolean };
    expect(view.IPAM).toEqual({ Driver: 'default', Options: {}, Config: [{ Subnet: '10.30.0.0/16', IPRange: '10.30.7.0/30', Gateway: '10.30.0.1', AuxiliaryAddresses: { nas: '10.30.7.0', dns: '10.30.0.53' } }] });
    expect((networkView(await e.inspectNetwork({ id: 'bridge' }), []) as { IPAM: unknown }).IPAM).toEqual({ Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] });
  });

  it('refuses what dockerd\'s bridge driver refuses and what the guest cannot do, saying why', async () => {
    const { e } = await engine();
    await expect(e.createNetwork({ name: 'two', ipam: { config: [{ subnet: '10.40.0.0/24' }, { subnet: '10.41.0.0/24' }] } })).rejects.toMatchObject({ message: 'bridge driver doesn\'t support multiple subnets' });
    await expect(e.createNetwork({ name: 'v6', enableIPv6: true })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('CONFIG_IPV6 is not set') });
    await expect(e.createNetwork({ name: 'v6', ipam: { config: [{ subnet: 'fd00:1::/64' }] } })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('fd00:1::/64: IPv6 is not supported') });
    await expect(e.createNetwork({ name: 'bridge' })).rejects.toMatchObject({ message: 'operation is not permitted on predefined bridge network ' });
    await expect(e.createNetwork({ name: 'x', scope: 'swarm' })).rejects.toMatchObject({ message: 'cannot create a swarm scoped network when swarm is not active' });
    await expect(e.createNetwork({ name: 'x', ipam: { driver: 'infoblox' } })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'plugin "infoblox" not found' });
    await expect(e.createNetwork({ name: 'x', options: { 'com.docker.network.driver.mtu': 'big' } })).rejects.toMatchObject({ message: 'failed to parse com.docker.network.driver.mtu value: big (strconv.Atoi: parsing "big": invalid syntax)' });
    await expect(e.createNetwork({ name: 'x', options: { 'com.docker.network.driver.mtu': '9000' } })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('the guest agent sets no MTU') });
    await expect(e.createNetwork({ name: 'x', options: { 'com.docker.network.bridge.enable_icc': 'maybe' } })).rejects.toMatchObject({ message: expect.stringContaining('strconv.ParseBool: parsing "maybe"') });
    await expect(e.createNetwork({ name: 'x', options: { 'com.docker.network.bridge.enable_icc': 'false' } })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    const kept = await e.createNetwork({ name: 'kept', options: { 'com.docker.network.bridge.name': 'skiffbr0', 'com.docker.network.driver.mtu': '1500', 'com.example.note': 'hi' } });
    expect(kept.options).toEqual({ 'com.docker.network.bridge.name': 'skiffbr0', 'com.docker.network.driver.mtu': '1500', 'com.example.note': 'hi' });
    expect(kept.bridge).toBe(`br-${kept.id.slice(0, 12)}`);
    await expect(e.createNetwork({ name: 'again', options: { 'com.docker.network.bridge.name': 'skiffbr0' } })).rejects.toMatchObject({ message: expect.stringMatching(/^cannot create network [0-9a-f]{64} \(skiffbr0\): conflicts with network [0-9a-f]{64} \(skiffbr0\): networks have same bridge name$/) });
  });

  it('network connect --link NAME:ALIAS: the alias resolves to NAME\'s address for the linking container only', async () => {
    const { e, run } = await engine();
    await e.createNetwork({ name: 'linked', ipam: { config: [{ subnet: '10.50.0.0/24' }] } });
    const db = await run({ network: 'linked', name: 'db' });
    const app = await run({ name: 'app' });
    const other = await run({ network: 'linked', name: 'other' });
    await expect(e.connectNetwork({ network: 'linked', container: 'app', links: ['db:a:b'] })).rejects.toMatchObject({ message: 'bad format for links: db:a:b' });
    await e.connectNetwork({ network: 'linked', container: 'app', links: ['db:database'] });
    const appRec = await e.inspectContainer({ id: app.id });
    const from = appRec.spec.network!.endpoints['linked']!.ip!;
    const dbIp = db.spec.network!.endpoints['linked']!.ip!;
    expect(await e.resolveName({ name: 'database', sourceIp: from })).toEqual([dbIp]);
    expect(await e.resolveName({ name: 'database.linked', sourceIp: from })).toEqual([dbIp]);
    expect(await e.resolveName({ name: 'db', sourceIp: from })).toEqual([dbIp]);
    expect(await e.resolveName({ name: 'database', sourceIp: other.spec.network!.endpoints['linked']!.ip! })).toBeUndefined();
    const settings = networkSettingsView(appRec, await e.listNetworks()) as { Networks: Record<string, { Links: unknown }> };
    expect(settings.Networks['linked']!.Links).toEqual(['db:database']);
  });

  it('prunes by until and label', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => new IdleRuntime() }, now: () => new Date(now) });
    await e.createNetwork({ name: 'old', labels: { keep: 'no' } });
    now += 3_600_000;
    await e.createNetwork({ name: 'new', labels: { keep: 'yes' } });
    await e.createNetwork({ name: 'plain' });
    expect((await e.pruneNetworks({ label: ['keep=yes'] })).deleted).toEqual(['new']);
    expect((await e.pruneNetworks({ until: now - 1000 })).deleted).toEqual(['old']);
    expect((await e.pruneNetworks({ notLabel: ['keep'] })).deleted).toEqual(['plain']);
  });
});
