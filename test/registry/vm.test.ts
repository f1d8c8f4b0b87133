/**
 * Linux images through docker-registry and into the VM: the bundled skiff/busybox pushed, removed,
 * pulled back by tag and by digest and run; and a multi-platform index (linux/amd64 + linux/386,
 * seeded by skopeo) whose pull chooses linux/386, which runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
import { openEngine } from '../../src/node.ts';
import type { ProcessIO } from '../../src/runtime/types.ts';
import { buildLayouts, type Layouts } from './fixtures.ts';
import { skopeoCopy, startRegistry, type Running } from './servers.ts';

const dec = new TextDecoder();
let reg: Running;
let layouts: Layouts;
let home: string;
let engine: Engine;

function sink(): ProcessIO & { out: () => string } {
  const o: string[] = [];
  return { onStdout: (c) => o.push(dec.decode(c)), onStderr: (c) => o.push(dec.decode(c)), out: () => o.join('') };
}

beforeAll(async () => {
  reg = await startRegistry();
  layouts = buildLayouts();
  skopeoCopy(`oci:${layouts.multi}:latest`, `docker://${reg.host}/seed/multi:latest`, ['--all']);
  home = mkdtempSync(join(tmpdir(), 'skiff-registry-vm-'));
  engine = await openEngine({ home });
}, 60_000);

afterAll(async () => {
  await engine?.shutdown();
  await reg?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('linux/386 images from a registry, run in the VM', () => {
  it('skiff/busybox pushed, removed, pulled back by tag and by digest, runs', async () => {
    const bundled = await engine.resolveImage({ ref: 'skiff/busybox' });
    const target = `${reg.host}/mine/busybox:1`;
    await engine.tag({ source: 'skiff/busybox', target });
    const pushed = await engine.pushImage({ ref: target });
    expect(pushed.digest).toBe(bundled.digest);
    await engine.removeImage({ ref: target });
    await engine.removeImage({ ref: 'skiff/busybox' });
    expect(await engine.findImage({ ref: target })).toBeUndefined();
    const byTag = await engine.pullImage({ ref: target });
    expect(byTag).toMatchObject({ existed: false, platform: 'linux/386' });
    expect(byTag.image.digest).toBe(bundled.digest);
    await engine.removeImage({ ref: target });
    const byDigest = await engine.pullImage({ ref: `${reg.host}/mine/busybox@${bundled.digest}` });
    expect(byDigest.image.digest).toBe(bundled.digest);
    const io = sink();
    const r = await engine.runContainer({ image: `${reg.host}/mine/busybox@${bundled.digest}`, cmd: ['sh', '-c', 'echo pulled; uname -m'], run: { rm: true }, io });
    expect(r.exit.exitCode).toBe(0);
    expect(io.out()).toMatch(/^pulled\ni[3-6]86\n$/);
  }, 300_000);

  it('a multi-platform index (linux/amd64 + linux/386) pulls its linux/386 variant, which runs', async () => {
    const ref = `${reg.host}/seed/multi:latest`;
    expect(await engine.findImage({ ref })).toBeUndefined();
    const pulled = await engine.pullImage({ ref });
    expect(pulled).toMatchObject({ digest: layouts.multiIndexDigest, platform: 'linux/386' });
    const io = sink();
    const r = await engine.runContainer({ image: ref, cmd: ['uname', '-m'], run: { rm: true }, io });
    expect(r.exit.exitCode).toBe(0);
    expect(io.out()).toMatch(/^i[3-6]86\n$/);
    expect(await engine.findImage({ ref })).toMatchObject({ digest: layouts.busyboxManifest, platform: 'linux/386' });
  }, 300_000);
});
