/**
 * `docker cp` through a container's mounts and a failed `run -d`'s wait, with the real docker
 * client against `skiff system serve`: the container's /etc/hostname (not the image's), a named
 * volume both ways (the container reads what cp put there, its writable layer has none of it),
 * and a start failing on a host port in use reports only the start's error, as with dockerd.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-api-cpm-');
const d = (...a: string[]) => served.d(...a);

describe('docker cp through mounts', () => {
  it('/etc/hostname is the container\'s; a named volume is read and written by cp, seen by the container', async () => {
    const src = join(served.dir, 'cpm');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'in.txt'), 'into the volume\n');
    const made = await d('create', '--name', 'cpm', '--hostname', 'xhost', '-v', 'cpmvol:/data', 'skiff/busybox', 'sh', '-c', 'cat /data/in.txt; hostname; echo out > /data/out.txt');
    expect(made.code, made.stderr).toBe(0);
    expect(await d('cp', join(src, 'in.txt'), 'cpm:/data/')).toMatchObject({ code: 0 });
    expect(await d('cp', 'cpm:/etc/hostname', join(served.dir, 'hostname'))).toMatchObject({ code: 0 });
    expect(readFileSync(join(served.dir, 'hostname'), 'utf8')).toBe('xhost\n');
    // The VM container reads the volume cp wrote, and writes one cp reads back.
    expect(await d('start', '-a', 'cpm')).toMatchObject({ code: 0, stdout: 'into the volume\nxhost\n' });
    expect(await d('cp', 'cpm:/data/out.txt', join(served.dir, 'out.txt'))).toMatchObject({ code: 0 });
    expect(readFileSync(join(served.dir, 'out.txt'), 'utf8')).toBe('out\n');
    expect((await d('diff', 'cpm')).stdout).not.toMatch(/\/data\//);
    const ro = await d('create', '--name', 'cpmro', '-v', 'cpmvol:/data:ro', 'skiff/busybox', 'true');
    expect(ro.code, ro.stderr).toBe(0);
    const refused = await d('cp', join(src, 'in.txt'), 'cpmro:/data/');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('mounted volume is marked read-only');
    expect((await d('rm', 'cpm', 'cpmro')).code).toBe(0);
  }, 300_000);
});

describe('docker cp through a running container\'s mounts', () => {
  it('its /etc/hostname as it changed it; a file copied into its volume is read by exec at once; a mount point is not replaced', async () => {
    const src = join(served.dir, 'cpm-live');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'f.txt'), 'live copy\n');
    writeFileSync(join(src, 'hostname'), 'replaced\n');
    const r = await d('run', '-d', '--name', 'cpmlive', '--hostname', 'lh', '-v', 'cpmlive:/data', 'skiff/busybox', 'sh', '-c', 'echo changed > /etc/hostname; sleep 120');
    expect(r.code, r.stderr).toBe(0);
    try {
      const seen = await until(async () => {
        const c = await d('cp', 'cpmlive:/etc/hostname', join(served.dir, 'live-hostname'));
        return c.code === 0 && readFileSync(join(served.dir, 'live-hostname'), 'utf8') === 'changed\n' ? true : undefined;
      }, 120_000, 500);
      expect(seen, 'the container\'s own /etc/hostname').toBe(true);
      expect(await d('cp', join(src, 'f.txt'), 'cpmlive:/data/')).toMatchObject({ code: 0 });
      expect(await d('exec', 'cpmlive', 'cat', '/data/f.txt')).toMatchObject({ code: 0, stdout: 'live copy\n' });
      const busy = await d('cp', join(src, 'hostname'), 'cpmlive:/etc/');
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('device or resource busy');
    } finally {
      await d('rm', '-f', 'cpmlive');
    }
  }, 300_000);
});

describe('a failed start of run -d', () => {
  it('a host port in use: only the start\'s error, no "Error waiting for container"', async () => {
    const holder = createServer();
    await new Promise<void>((res) => holder.listen(0, '0.0.0.0', res));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await d('run', '-d', '--name', 'busyport', '-p', `${port}:80`, 'skiff/busybox', 'sleep', '30');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/in use/i);
      expect(r.stderr).not.toContain('Error waiting for container');
    } finally {
      holder.close();
      await d('rm', '-f', 'busyport');
    }
  }, 300_000);
});
