/**
 * `docker commit` as Docker's daemon does it, through the skiff CLI and the real `docker` client
 * against `skiff system serve`: the container's config carried into the image, `--change`,
 * history and inspect, the container paused during the commit (and not with --pause=false),
 * a commit from another process than the one running the container, errors in Docker's words.
 */
import { describe, expect, it } from 'vitest';
import { until, useServe } from './serve-harness.ts';

const served = useServe('skiff-commit-');
const d = (...a: string[]) => served.d(...a);
const skiff = (...a: string[]) => served.skiff(...a);
const now = () => String(Math.floor(Date.now() / 1000) + 1);
type Inspect = { Config: Record<string, unknown>; Author: string; Container: string; ContainerConfig?: Record<string, unknown> };

describe('skiff commit: the container config becomes the image config', () => {
  it('carries -e -w --entrypoint cmd --label -v --health-cmd, applies --change, writes history and inspect', async () => {
    const run = await skiff('run', '--name', 'src', '-e', 'FOO=1', '-w', '/srv', '--entrypoint', '/bin/sh', '--label', 'team=x', '-v', '/data',
      '--health-cmd', 'true', '--hostname', 'boxname', 'skiff/busybox', '-c', 'echo hi > /srv/f');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const id = (await skiff('inspect', '--format', '{{.Id}}', 'src')).stdout.trim();
    const commit = await skiff('commit', '-m', 'the message', '-a', 'Ann <ann@example.com>', '--change', 'CMD ["-c", "cat /srv/f; echo FOO=$FOO; pwd"]',
      '--change', 'ENV BAR=2', 'src', 'x/commit:1');
    expect(commit).toMatchObject({ code: 0, stderr: '' });
    expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);

    // The entrypoint, env and workdir come from the container, the CMD from --change, the file from its layer.
    const out = await skiff('run', '--rm', 'x/commit:1');
    expect(out).toMatchObject({ code: 0, stdout: 'hi\nFOO=1\n/srv\n' });

    const [img] = JSON.parse((await skiff('image', 'inspect', 'x/commit:1')).stdout) as Inspect[];
    expect(img!.Author).toBe('Ann <ann@example.com>');
    expect(img!.Container).toBe(id);
    expect(img!.Config).toMatchObject({
      Entrypoint: ['/bin/sh'], Cmd: ['-c', 'cat /srv/f; echo FOO=$FOO; pwd'], WorkingDir: '/srv', Labels: { team: 'x' },
      Volumes: { '/data': {} }, Healthcheck: { Test: ['CMD-SHELL', 'true'] },
    });
    expect(img!.Config['Env']).toEqual(expect.arrayContaining(['FOO=1', 'BAR=2', expect.stringMatching(/^PATH=/)]));
    // The hostname is the container's, never the image's (run gives each container its own).
    expect(JSON.stringify(img!.Config)).not.toContain('boxname');
    // ContainerConfig: the container's own, before --change.
    expect(img!.ContainerConfig).toMatchObject({ Cmd: ['-c', 'echo hi > /srv/f'] });

    // Docker's created_by: the container's Cmd joined by spaces; the comment is -m.
    const hist = await skiff('history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'x/commit:1');
    expect(hist.stdout.split('\n')[0]).toBe('-c echo hi > /srv/f|the message');

    // Nothing changed in a second commit's container: no layer, an empty_layer history entry.
    expect((await skiff('create', '--name', 'same', 'x/commit:1')).code).toBe(0);
    await skiff('commit', 'same', 'x/commit:2');
    const layers = async (ref: string) => ((JSON.parse((await skiff('image', 'inspect', ref)).stdout) as Array<{ RootFS: { Layers: string[] } }>)[0]!.RootFS.Layers);
    expect(await layers('x/commit:2')).toEqual(await layers('x/commit:1'));
  }, 300_000);

  it("refuses what Docker refuses, in Docker's words", async () => {
    const bad = await skiff('commit', '--change', 'RUN make', 'src', 'x/bad:1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('run is not a valid change command');
    expect((await skiff('image', 'inspect', 'x/bad:1')).code).not.toBe(0);
    const missing = await skiff('commit', 'nosuch', 'x/bad:1');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such container: nosuch');
    const ref = await skiff('commit', 'src', 'Bad:Ref');
    expect(ref.code).not.toBe(0);
    expect(ref.stderr).toContain('invalid reference format: repository name (library/Bad) must be lowercase');
  }, 120_000);
});

describe('docker commit through the API', () => {
  it('commits with --change, -m, -a; the commit event carries comment, imageID and imageRef', async () => {
    const t0 = String(Math.floor(Date.now() / 1000) - 1);
    expect((await d('run', '--name', 'dsrc', '-e', 'A=1', 'skiff/busybox', 'sh', '-c', 'echo api > /made')).code).toBe(0);
    const c = await d('commit', '-m', 'via api', '-a', 'Bob', '-c', 'ENV B=2', '-c', 'CMD ["cat", "/made"]', 'dsrc', 'x/api:1');
    expect(c).toMatchObject({ code: 0, stderr: '' });
    const imageId = c.stdout.trim();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await d('run', '--rm', 'x/api:1')).toMatchObject({ code: 0, stdout: 'api\n' });
    const env = await d('run', '--rm', 'x/api:1', 'env');
    expect(env.stdout).toMatch(/^A=1$/m);
    expect(env.stdout).toMatch(/^B=2$/m);
    expect((await d('image', 'inspect', '--format', '{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}', 'x/api:1')).stdout.trim()).toBe('Bob||["cat","/made"]');
    const ev = await d('events', '--since', t0, '--until', now(), '--filter', 'event=commit', '--filter', 'container=dsrc',
      '--format', '{{.Actor.Attributes.comment}}|{{.Actor.Attributes.imageID}}|{{.Actor.Attributes.imageRef}}');
    expect(ev.stdout.trim()).toBe(`via api|${imageId}|x/api:1`);
  }, 240_000);

  it("errors as Docker's daemon: an unknown container, a bad change, a bad reference", async () => {
    const missing = await d('commit', 'nosuch');
    expect(missing.stderr).toContain('No such container: nosuch');
    const bad = await d('commit', '-c', 'RUN x', 'dsrc');
    expect(bad.stderr.trim()).toBe('Error response from daemon: run is not a valid change command');
    const ref = await served.api('POST', '/v1.43/commit?container=dsrc&repo=Bad');
    expect(ref.status).toBe(400);
    expect(ref.json.message).toBe('invalid reference format: repository name (library/Bad) must be lowercase');
    // The API body is a config used in place of the container's; what it leaves empty is the container's.
    const body = await served.api('POST', '/v1.43/commit?container=dsrc&repo=x/body&tag=1', JSON.stringify({ Cmd: ['echo', 'from body'], Labels: { b: '1' } }));
    expect(body.status).toBe(201);
    const cfg = JSON.parse((await d('image', 'inspect', '--format', '{{json .Config}}', 'x/body:1')).stdout) as { Cmd: string[]; Env: string[]; Labels: Record<string, string> };
    expect(cfg.Cmd).toEqual(['echo', 'from body']);
    expect(cfg.Labels).toEqual({ b: '1' });
    expect(cfg.Env).toContain('A=1');
  }, 120_000);
});

describe('commit --pause', () => {
  /** The counter the container keeps writing; read host-side (docker cp works on a paused container). */
  const counter = async (name: string): Promise<number> => {
    // `docker cp ... -` writes a tar: headers of 512 bytes (size in octal at 124, type at 156), a
    // PAX header ('x') first when the time has a fraction; the file's bytes follow its own header.
    const tar = (await d('cp', `${name}:/c`, '-')).stdout;
    let at = 0;
    let text = '';
    while (at + 512 <= tar.length) {
      const size = parseInt(tar.slice(at + 124, at + 136).replace(/\0/g, '').trim() || '0', 8);
      const type = tar[at + 156];
      if (type === 'x' || type === 'g') {
        at += 512 + Math.ceil(size / 512) * 512;
        continue;
      }
      text = tar.slice(at + 512, at + 512 + size).trim();
      break;
    }
    return /^\d+$/.test(text) ? Number(text) : -1;
  };

  // The counter file is replaced by a rename, so a freeze never finds it half written.
  it('freezes a running container while its layer is read and thaws it after; --pause=false does not', async () => {
    // A 20 MB layer gzip cannot shrink (1 MB of random bytes repeated: farther apart than deflate's
    // 32 KB window): the commit takes long enough for the freeze to be seen. /dev/urandom is slow in the VM.
    const run = await d('run', '-d', '--name', 'busy', 'skiff/busybox', 'sh', '-c',
      'head -c 1048576 /dev/urandom > /r; for k in 1 2 3 4 5; do cat /r /r >> /r2; cat /r2 /r2 >> /r3; rm /r2; done; mv /r3 /big; i=0; while :; do i=$((i+1)); echo $i > /c.new; mv /c.new /c; done');
    expect(run.code).toBe(0);
    await until(async () => (await counter('busy')) > 0, 180_000, 500);
    const t0 = String(Math.floor(Date.now() / 1000) - 1);

    let done = false;
    const commit = d('commit', 'busy', 'x/busy:1').finally(() => (done = true));
    const seen: boolean[] = [];
    let frozenStable = false;
    while (!done) {
      const paused = (await d('inspect', '--format', '{{.State.Paused}}', 'busy')).stdout.trim() === 'true';
      seen.push(paused);
      if (paused && !frozenStable) {
        // The counter does not move while the record still says paused on both sides of the wait.
        const a = await counter('busy');
        await new Promise((r) => setTimeout(r, 400));
        const b = await counter('busy');
        if ((await d('inspect', '--format', '{{.State.Paused}}', 'busy')).stdout.trim() === 'true' && !done) {
          expect(a).toBeGreaterThan(0);
          expect(b).toBe(a);
          frozenStable = true;
        }
      }
    }
    expect((await commit).code).toBe(0);
    expect(seen).toContain(true);
    expect((await d('inspect', '--format', '{{.State.Status}}', 'busy')).stdout.trim()).toBe('running');
    // Thawed: the counter moves on.
    const after = await counter('busy');
    expect(await until(async () => (await counter('busy')) > after, 60_000, 300)).toBe(true);
    const actions = (await d('events', '--since', t0, '--until', now(), '--filter', 'container=busy', '--format', '{{.Action}}')).stdout.trim().split('\n');
    expect(actions.filter((a) => ['pause', 'commit', 'unpause'].includes(a))).toEqual(['pause', 'commit', 'unpause']);

    const t1 = String(Math.floor(Date.now() / 1000) - 1);
    expect((await d('commit', '--pause=false', 'busy', 'x/busy:2')).code).toBe(0);
    const actions2 = (await d('events', '--since', t1, '--until', now(), '--filter', 'container=busy', '--format', '{{.Action}}')).stdout.trim().split('\n');
    expect(actions2).toContain('commit');
    expect(actions2).not.toContain('pause');
  }, 600_000);

  it('a commit by another process reads what the running container wrote up to now', async () => {
    // `busy` runs in the API server's process; this skiff CLI asks it to save the live layer first.
    const before = await counter('busy');
    expect((await skiff('commit', 'busy', 'x/busy:3')).code).toBe(0);
    const out = await d('run', '--rm', '--entrypoint', 'cat', 'x/busy:3', '/c');
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(before).toBeGreaterThan(0);
    expect(Number(out.stdout.trim())).toBeGreaterThanOrEqual(before);
    expect(await d('rm', '-f', 'busy')).toMatchObject({ code: 0 });
  }, 300_000);
});
