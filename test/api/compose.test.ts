/**
 * docker-compose 1.29 (Debian's; docker-py 5.0.3 underneath) against `skiff system serve`: a
 * two-service app on a user network comes up (network created, containers created with their
 * service aliases, started in dependency order), runs, execs, logs, and goes down again (the
 * containers and the network removed). One service reaching the other by name needs the guest's
 * network (a kernel with virtio-net and the agent's eth0): checked when the guest has eth0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/peers.ts';
import { runTool, useServe } from './serve-harness.ts';

const served = useServe('skiff-api-compose-');
const d = (...a: string[]) => served.d(...a);

const COMPOSE = `version: "3.8"
services:
  web:
    image: skiff/busybox
    command: ["sh", "-c", "echo web-up; hostname > /www-index; exec httpd -f -p 80 -h /"]
    networks: [backend]
  client:
    image: skiff/busybox
    command: ["sh", "-c", "echo client-up; exec sleep 1000"]
    depends_on: [web]
    networks: [backend]
networks:
  backend: {}
`;

describe('docker-compose through the API', () => {
  it('up -d, ps, exec, logs, the service reachable by name, down', async (ctx) => {
    const compose = requireTool('docker-compose', 'docker-compose');
    const dir = join(served.dir, 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
    // compose gives each request 60 s; a guest booting cold on a loaded machine can take longer, so
    // the VM is started first and the timeout raised (load, not a hang: the server answers every request).
    const dc = (...args: string[]) => runTool(compose, ['-p', 'demo', ...args], { ...served.dockerEnv(), COMPOSE_HTTP_TIMEOUT: '240' }, { cwd: dir });
    expect((await d('run', '--rm', 'skiff/busybox', 'true')).code).toBe(0);

    const up = await dc('up', '-d');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('Creating network "demo_backend" with the default driver');
    const ps = await dc('ps');
    expect(ps.stdout).toMatch(/demo_client_1 .* Up/);
    expect(ps.stdout).toMatch(/demo_web_1 .* Up/);
    expect((await d('network', 'ls', '--format', '{{.Name}}')).stdout).toContain('demo_backend');
    const net = JSON.parse((await d('inspect', '-f', '{{json .NetworkSettings.Networks}}', 'demo_web_1')).stdout) as Record<string, { Aliases: string[]; IPAddress: string }>;
    expect(net['demo_backend']!.Aliases).toContain('web');
    expect(net['demo_backend']!.IPAddress).toMatch(/^172\.\d+\.0\.\d+$/);
    expect(await dc('exec', '-T', 'client', 'echo', 'in-client')).toMatchObject({ code: 0, stdout: 'in-client\n' });
    const logs = await dc('logs', '--no-color');
    expect(logs.stdout).toMatch(/web_1 +\| web-up/);
    expect(logs.stdout).toMatch(/client_1 +\| client-up/);

    // By name: needs the guest's network (eth0); without it the containers have loopback only.
    const devs = await dc('exec', '-T', 'client', 'cat', '/proc/net/dev');
    if (devs.stdout.includes('eth0:')) {
      const got = await dc('exec', '-T', 'client', 'wget', '-qO-', 'http://web/www-index');
      expect(got.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    }

    const down = await dc('down', '-t', '1');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('Removing network demo_backend');
    expect((await d('ps', '-aq')).stdout).toBe('');
    expect((await d('network', 'ls', '--format', '{{.Name}}')).stdout).not.toContain('demo_backend');
    if (!devs.stdout.includes('eth0:')) ctx.annotate('the guest has no eth0 (its kernel lacks virtio-net): reaching web by name was not checked');
  }, 240_000);
});
