/**
 * `skiff network ...` and the run flags' network part through the real bin (bin/skiff.js) over a
 * temporary $SKIFF_HOME: Docker's output shapes and errors. No container runs here (the guest side
 * is test/runtime/vm/network.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, ociArchive } from '../engine/fixtures/images.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const execFileP = promisify(execFile);
let dir: string;
let home: string;

async function skiff(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-cli-net-'));
  home = join(dir, 'home');
  const image = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['sh'] });
  writeFileSync(join(dir, 'app.tar'), ociArchive([{ image, tags: ['docker.io/library/app:latest'] }]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('skiff network', () => {
  it('create, ls, inspect, connect/disconnect a created container, rm, prune, with Docker\'s errors', async () => {
    expect((await skiff('load', '-i', 'app.tar')).code).toBe(0);
    const created = await skiff('network', 'create', '--subnet', '10.20.0.0/24', '--label', 'team=a', 'appnet');
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    const id = created.stdout.trim();
    const ls = (await skiff('network', 'ls')).stdout.split('\n');
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls.slice(1, -1).map((l) => l.split(/\s+/).slice(1).join(' '))).toEqual(['appnet bridge local', 'bridge bridge local', 'host host local', 'none null local']);
    expect((await skiff('network', 'ls', '-q', '--filter', 'type=custom')).stdout).toBe(`${id.slice(0, 12)}\n`);
    expect((await skiff('network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{json .IPAM.Config}} {{.Labels}}', 'appnet')).stdout)
      .toBe('appnet bridge [{"Subnet":"10.20.0.0/24","Gateway":"10.20.0.1"}] map[team:a]\n');
    expect(await skiff('network', 'create', 'appnet')).toMatchObject({ code: 1, stderr: expect.stringContaining('network with name appnet already exists') });
    expect(await skiff('network', 'create', '--subnet', '10.20.0.128/25', 'other')).toMatchObject({ code: 1, stderr: expect.stringContaining('Pool overlaps with other one on this address space') });

    // A container on it gets its address at create; inspect shows it while it runs (Docker's shape).
    const c = await skiff('create', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', '--ip', '10.20.0.50', '--add-host', 'gw:host-gateway', 'app');
    expect(c.code).toBe(0);
    const settings = JSON.parse((await skiff('inspect', 'web')).stdout)[0];
    expect(settings.HostConfig.NetworkMode).toBe('appnet');
    expect(settings.NetworkSettings.Networks.appnet).toMatchObject({ NetworkID: id, Aliases: ['www'], IPAMConfig: { IPv4Address: '10.20.0.50' } });
    expect(await skiff('create', '--network', 'appnet', '--ip', '10.20.0.50', 'app')).toMatchObject({ code: 125, stderr: expect.stringContaining('Address already in use') });
    expect(await skiff('create', '--network', 'nope', 'app')).toMatchObject({ code: 125, stderr: expect.stringContaining('network nope not found') });
    expect(await skiff('create', '--ip', '172.17.0.9', 'app')).toMatchObject({ code: 125, stderr: expect.stringContaining('user specified IP address is supported on user defined networks only') });
    expect(await skiff('create', '--add-host', 'bad', 'app')).toMatchObject({ code: 125, stderr: expect.stringContaining('bad format for add-host: "bad"') });

    expect((await skiff('network', 'connect', '--alias', 'side', 'bridge', 'web')).code).toBe(1); // aliases need a user network
    expect((await skiff('network', 'connect', 'bridge', 'web')).code).toBe(0);
    expect(Object.keys(JSON.parse((await skiff('inspect', 'web')).stdout)[0].NetworkSettings.Networks).sort()).toEqual(['appnet', 'bridge']);
    expect(await skiff('network', 'connect', 'bridge', 'web')).toMatchObject({ code: 1, stderr: expect.stringContaining('endpoint with name web already exists in network bridge') });
    expect((await skiff('network', 'disconnect', 'bridge', 'web')).code).toBe(0);
    expect(await skiff('network', 'disconnect', 'bridge', 'web')).toMatchObject({ code: 1, stderr: expect.stringContaining('is not connected to network bridge') });

    expect(await skiff('network', 'rm', 'bridge')).toMatchObject({ code: 1, stderr: 'Error response from daemon: bridge is a pre-defined network and cannot be removed\n' });
    expect(await skiff('network', 'rm', 'nope')).toMatchObject({ code: 1, stderr: 'Error response from daemon: network nope not found\n' });
    expect((await skiff('network', 'rm', '-f', 'nope')).code).toBe(0);
    // A created (not running) container does not hold the network from rm, but does from prune.
    expect((await skiff('network', 'prune', '-f')).stdout).toBe('');
    expect(await skiff('network', 'rm', 'appnet')).toMatchObject({ code: 0, stdout: 'appnet\n' });
    await skiff('network', 'create', 'spare');
    expect((await skiff('network', 'prune', '-f')).stdout).toBe('Deleted Networks:\nspare\n\n');
  }, 120_000);
  it('IPAM flags grouped as the docker CLI groups them, inspect\'s IPAM, ls and prune filters', async () => {
    const made = await skiff('network', 'create', '--subnet', '10.60.0.0/16', '--ip-range', '10.60.4.0/24', '--aux-address', 'gw2=10.60.4.1', '--label', 'tier=ipam', 'ipamnet');
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse((await skiff('network', 'inspect', '-f', '{{json .IPAM}}', 'ipamnet')).stdout)).toEqual({
      Driver: 'default', Options: {}, Config: [{ Subnet: '10.60.0.0/16', IPRange: '10.60.4.0/24', Gateway: '10.60.4.0', AuxiliaryAddresses: { gw2: '10.60.4.1' } }],
    });
    expect((await skiff('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}}{{end}}', 'ipamnet')).stdout).toBe('10.60.0.0/16 10.60.4.0/24 10.60.4.0\n');
    expect((await skiff('network', 'inspect', '-v', '-f', '{{.Name}} {{.Scope}}', 'ipamnet')).stdout).toBe('ipamnet local\n');
    // Dynamic addresses skip the gateway and the auxiliary address; --ip may sit outside the range.
    expect((await skiff('create', '--name', 'r1', '--network', 'ipamnet', 'app')).code).toBe(0);
    expect(JSON.parse((await skiff('inspect', 'r1')).stdout)[0].NetworkSettings.Networks.ipamnet.NetworkID).toBe(made.stdout.trim());
    expect(await skiff('network', 'create', '--subnet', '10.61.0.0/16', '--ip-range', '10.62.0.0/24', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining('no matching subnet for range 10.62.0.0/24') });
    expect(await skiff('network', 'create', '--subnet', '10.61.0.0/16', '--aux-address', 'a=10.9.9.9', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining('no matching subnet for aux-address 10.9.9.9') });
    expect(await skiff('network', 'create', '--gateway', '10.61.0.1', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining('every ip-range or gateway must have a corresponding subnet') });
    expect(await skiff('network', 'create', '--subnet', '10.61.0.0/16', '--subnet', '10.62.0.0/16', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining('bridge driver doesn\'t support multiple subnets') });
    expect(await skiff('network', 'create', '--label', '=x', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining("invalid label '=x': empty name") });
    expect(await skiff('network', 'create', '--ipv6', 'bad')).toMatchObject({ code: 1, stderr: expect.stringContaining('CONFIG_IPV6 is not set') });
    expect(await skiff('network', 'connect', '--ip6', 'fd00::5', 'ipamnet', 'r1')).toMatchObject({ code: 1, stderr: expect.stringContaining('IPv6 is not supported') });
    await skiff('network', 'create', '--label', 'tier=spare', 'spare2');
    expect((await skiff('network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}')).stdout).toBe('spare2\n');
    expect((await skiff('network', 'ls', '--filter', 'dangling=false', '--filter', 'type=custom', '--format', '{{.Name}}')).stdout).toBe('ipamnet\n');
    expect((await skiff('network', 'ls', '--filter', 'label!=tier=ipam', '--filter', 'type=custom', '--format', '{{.Name}}')).stdout).toBe('spare2\n');
    expect((await skiff('network', 'ls', '--filter', 'until=1h', '--filter', 'type=custom', '--format', '{{.Name}}')).stdout).toBe('');
    expect(await skiff('network', 'ls', '--filter', 'type=bogus')).toMatchObject({ code: 1, stderr: expect.stringContaining("invalid filter: 'type'='bogus'") });
    expect(await skiff('network', 'connect', '--ip', 'nope', 'ipamnet', 'r1')).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid argument "nope" for "--ip" flag') });
    expect(await skiff('network', 'connect', '--ip', '10.60.4.1', 'bridge', 'r1')).toMatchObject({ code: 1, stderr: expect.stringContaining('user specified IP address is supported only when connecting to networks with user configured subnets') });
    expect((await skiff('network', 'prune', '-f', '--filter', 'label=tier=other')).stdout).toBe('');
    expect((await skiff('network', 'prune', '-f', '--filter', 'until=1h')).stdout).toBe('');
    expect((await skiff('network', 'prune', '-f', '--filter', 'label!=tier=ipam')).stdout).toBe('Deleted Networks:\nspare2\n\n');
    expect((await skiff('create', '--name', 'r2', 'app')).code).toBe(0);
    expect((await skiff('network', 'connect', '--link', 'r1:one', 'ipamnet', 'r2')).code).toBe(0);
    expect((await skiff('inspect', '-f', '{{json .NetworkSettings.Networks.ipamnet.Links}}', 'r2')).stdout).toBe('["r1:one"]\n');
    expect((await skiff('rm', 'r1', 'r2')).code).toBe(0);
    expect((await skiff('network', 'rm', 'ipamnet')).code).toBe(0);
  }, 120_000);
});
