/**
 * `docker network` through the API over the engine's network model: create with a subnet, list
 * and filter, inspect (members with their addresses while they run), connect/disconnect, the
 * in-use refusal, prune and remove; a container created on a user network with an alias and a
 * fixed address, as docker run and compose ask for it; IPAM options (--ip-range, --aux-address,
 * --gateway) with the docker CLI's and dockerd's error texts.
 */
import { describe, expect, it } from 'vitest';
import { useServe } from './serve-harness.ts';

const served = useServe('skiff-api-net-');
const d = (...a: string[]) => served.d(...a);

describe('docker network through the API', () => {
  it('create, ls, inspect, run on it with an alias and an address, connect, disconnect, rm, prune', async () => {
    const created = await d('network', 'create', '--subnet', '172.30.0.0/16', '--label', 'app=demo', 'appnet');
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await d('network', 'create', 'appnet')).stderr).toContain('network with name appnet already exists');
    const ls = await d('network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}');
    expect(ls.stdout.split('\n').sort().filter(Boolean)).toEqual(['appnet bridge local', 'bridge bridge local', 'host host local', 'none null local']);
    expect((await d('network', 'ls', '-q', '--filter', 'label=app=demo')).stdout.trim()).toBe(id.slice(0, 12));
    expect((await d('network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}')).stdout).toBe('appnet\n');
    expect((await d('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Internal}}', 'appnet')).stdout).toBe('172.30.0.0/16 172.30.0.1 false\n');

    const run = await d('run', '-d', '--name', 'web1', '--network', 'appnet', '--network-alias', 'web', '--ip', '172.30.0.10', 'skiff/busybox', 'sleep', '1000');
    expect(run.code, run.stderr).toBe(0);
    expect((await d('inspect', '-f', '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.appnet.IPAddress}} {{.NetworkSettings.Networks.appnet.Aliases}}', 'web1')).stdout).toBe('appnet 172.30.0.10 [web]\n');
    const members = await d('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'appnet');
    expect(members.stdout).toBe('web1 172.30.0.10/16\n');
    const inUse = await d('network', 'rm', 'appnet');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('has active endpoints');

    expect((await d('create', '--name', 'other', 'skiff/busybox', 'true')).code).toBe(0);
    expect((await d('network', 'connect', '--alias', 'second', 'appnet', 'other')).code).toBe(0);
    expect((await d('inspect', '-f', '{{.NetworkSettings.Networks.appnet.Aliases}}', 'other')).stdout).toBe('[second]\n');
    expect((await d('network', 'disconnect', 'appnet', 'other')).code).toBe(0);
    expect((await d('inspect', '-f', '{{json .NetworkSettings.Networks}}', 'other')).stdout).not.toContain('appnet');

    expect((await d('rm', '-f', 'web1', 'other')).code).toBe(0);
    expect(await d('network', 'rm', 'appnet')).toMatchObject({ code: 0, stdout: 'appnet\n' });
    const gone = await d('network', 'inspect', 'appnet');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('network appnet not found');
    expect((await d('network', 'create', 'spare')).code).toBe(0);
    const pruned = await d('network', 'prune', '-f');
    expect(pruned.stdout).toContain('spare');
    expect((await d('network', 'rm', 'bridge')).stderr).toContain('bridge is a pre-defined network and cannot be removed');
  }, 180_000);

  it('IPAM: --subnet, --ip-range, --gateway, --aux-address as dockerd takes them; the container\'s address comes from the range', async () => {
    const created = await d('network', 'create', '--subnet', '172.28.0.0/16', '--ip-range', '172.28.5.0/24', '--gateway', '172.28.5.254',
      '--aux-address', 'my-router=172.28.5.1', '--aux-address', 'nas=172.28.1.5', '-o', 'com.example.note=kept', 'ranged');
    expect(created.code, created.stderr).toBe(0);
    const ipam = JSON.parse((await d('network', 'inspect', '-f', '{{json .IPAM}}', 'ranged')).stdout);
    expect(ipam).toEqual({ Driver: 'default', Options: {}, Config: [{ Subnet: '172.28.0.0/16', IPRange: '172.28.5.0/24', Gateway: '172.28.5.254', AuxiliaryAddresses: { 'my-router': '172.28.5.1', nas: '172.28.1.5' } }] });
    expect((await d('network', 'inspect', '-f', '{{json .Options}} {{.EnableIPv6}}', 'ranged')).stdout).toBe('{"com.example.note":"kept"} false\n');
    // The docker CLI's own grouping errors, then dockerd's (answered by skiff).
    expect((await d('network', 'create', '--subnet', '10.1.0.0/16', '--gateway', '10.2.0.1', 'x')).stderr).toContain('no matching subnet for gateway 10.2.0.1');
    expect((await d('network', 'create', '--subnet', '10.1.0.0/16', '--subnet', '10.1.2.0/24', 'x')).stderr).toContain('multiple overlapping subnet configuration is not supported');
    expect((await d('network', 'create', '--subnet', '10.1.0.0/16', '--subnet', '10.3.0.0/16', 'x')).stderr).toBe('Error response from daemon: bridge driver doesn\'t support multiple subnets\n');
    expect((await d('network', 'create', '--subnet', '172.28.9.0/24', 'x')).stderr).toBe('Error response from daemon: Pool overlaps with other one on this address space\n');
    expect((await d('network', 'create', '--subnet', '10.1.0.1/16', 'x')).stderr).toBe('Error response from daemon: invalid network config:\ninvalid subnet 10.1.0.1/16: it should be 10.1.0.0/16\n');
    expect((await d('network', 'create', '--ipv6', 'x')).stderr).toContain('IPv6 is not supported: skiff\'s guest kernel is built without IPv6');
    expect((await d('network', 'create', '-d', 'weave', 'x')).stderr).toBe('Error response from daemon: plugin "weave" not found\n');
    const def = await d('network', 'create', 'pooled');
    expect(def.code, def.stderr).toBe(0);
    expect((await d('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} [{{.IPRange}}]{{end}}', 'pooled')).stdout).toMatch(/^172\.(1[89]|2\d|3[01])\.0\.0\/16 172\.\d+\.0\.1 \[\]\n$/);
    expect((await d('network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}')).stdout.split('\n').filter(Boolean).sort()).toEqual(['pooled', 'ranged']);

    const badFilter = await served.api('GET', `/v1.43/networks?filters=${encodeURIComponent('{"dangling":["maybe"]}')}`);
    expect([badFilter.status, badFilter.json.message]).toEqual([400, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")']);
    expect((await d('network', 'ls', '--filter', 'label!=none', '--filter', 'type=custom', '-q')).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    const run = await d('run', '-d', '--name', 'inrange', '--network', 'ranged', 'skiff/busybox', 'sleep', '1000');
    expect(run.code, run.stderr).toBe(0);
    // 172.28.5.0 is the range's first free address (dockerd hands it out too); .1 is the router's.
    expect((await d('inspect', '-f', '{{.NetworkSettings.Networks.ranged.IPAddress}}/{{.NetworkSettings.Networks.ranged.IPPrefixLen}} {{.NetworkSettings.Networks.ranged.Gateway}}', 'inrange')).stdout).toBe('172.28.5.0/16 172.28.5.254\n');
    expect((await d('run', '--rm', '--network', 'ranged', '--ip', '172.28.1.5', 'skiff/busybox', 'true')).stderr).toContain('Address already in use');
    expect((await d('rm', '-f', 'inrange')).code).toBe(0);
    expect((await d('network', 'prune', '-f', '--filter', 'label=none')).stdout).toBe('');
    const pruned = (await d('network', 'prune', '-f')).stdout.split('\n');
    expect([pruned[0], ...pruned.slice(1, 3).sort()]).toEqual(['Deleted Networks:', 'pooled', 'ranged']);
  }, 180_000);

  it('published ports: -p as PortBindings, bound at start, docker port and ps show them', async () => {
    expect((await d('run', '-d', '--name', 'pub', '-p', '127.0.0.1::80', '-p', '127.0.0.1::81/udp', 'skiff/busybox', 'sleep', '1000')).code).toBe(0);
    const port = await d('port', 'pub');
    expect(port.stdout).toMatch(/^80\/tcp -> 127\.0\.0\.1:\d+\n81\/udp -> 127\.0\.0\.1:\d+\n$/);
    const [tcp, udp] = port.stdout.trim().split('\n').map((l) => l.split(':').pop());
    expect((await d('port', 'pub', '80')).stdout).toBe(`127.0.0.1:${tcp}\n`);
    expect((await d('port', 'pub', '81/udp')).stdout).toBe(`127.0.0.1:${udp}\n`);
    expect((await d('ps', '--filter', 'name=pub', '--format', '{{.Ports}}')).stdout).toBe(`127.0.0.1:${tcp}->80/tcp, 127.0.0.1:${udp}->81/udp\n`);
    expect((await d('inspect', '-f', '{{json .HostConfig.PortBindings}}', 'pub')).stdout).toBe('{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}],"81/udp":[{"HostIp":"127.0.0.1","HostPort":""}]}\n');
    const bad = await served.api('POST', '/v1.43/containers/create', JSON.stringify({ Image: 'skiff/busybox', HostConfig: { PortBindings: { 'eighty/tcp': [] } } }));
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('HostConfig.PortBindings.eighty/tcp');
    expect((await d('rm', '-f', 'pub')).code).toBe(0);
  }, 120_000);
});
