/** Every metadata instruction's config and history, ONBUILD in a child build, ARG scoping, globs. */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';

const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()) });

async function raw(ref: string): Promise<Record<string, any>> {
  const img = await e.resolveImage({ ref });
  return JSON.parse(new TextDecoder().decode(await Engine.contextOf(e).content.get(img.config.digest)));
}

async function paths(ref: string): Promise<string[]> {
  const rec = await e.createContainer({ image: ref, runtime: 'vm' });
  const fs = await e.containerFs({ id: rec.id });
  const out: string[] = [];
  const walk = (n: ReturnType<typeof fs.root>, p: string): void => {
    for (const d of fs.readdir(n)) {
      if (d.name === '.' || d.name === '..') continue;
      const c = fs.lookup(n, d.name);
      out.push(`${p}/${d.name}`);
      if (fs.stat(c).kind === 'directory') walk(c, `${p}/${d.name}`);
    }
  };
  walk(fs.lookup(fs.root(), 'out'), '/out');
  await e.removeContainer({ id: rec.id, force: true });
  return out.sort();
}

describe('instructions', () => {
  it('config fields and history lines as Docker writes them', async () => {
    await e.build({
      tags: ['meta:1'],
      context: {
        Dockerfile: [
          'FROM skiff/busybox', 'MAINTAINER someone', 'SHELL ["/bin/sh", "-ec"]', 'ENTRYPOINT echo hi', 'VOLUME ["/data", "/logs"]',
          'STOPSIGNAL SIGQUIT', 'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q localhost || exit 1',
          'ONBUILD COPY . /onbuild/', 'USER nobody', 'EXPOSE 8000-8001/udp',
        ].join('\n'),
      },
    });
    const c = await raw('meta:1');
    expect(c['author']).toBe('someone');
    expect(c['config']).toMatchObject({
      Shell: ['/bin/sh', '-ec'], Entrypoint: ['/bin/sh', '-ec', 'echo hi'], Volumes: { '/data': {}, '/logs': {} }, StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 30e9, Timeout: 5e9, Retries: 3 },
      OnBuild: ['COPY . /onbuild/'], User: 'nobody', ExposedPorts: { '8000/udp': {}, '8001/udp': {} },
    });
    // inspect shows Docker's extensions too.
    expect((await e.inspectImage({ ref: 'meta:1' }))['Config']).toMatchObject({ Shell: ['/bin/sh', '-ec'], OnBuild: ['COPY . /onbuild/'], Healthcheck: { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Retries: 3 } });
    // ENTRYPOINT resets the base image's CMD.
    expect(c['config'].Cmd).toBeUndefined();
    const h = (c['history'] as Array<{ created_by: string; empty_layer?: boolean }>).slice(-9).map((x) => x.created_by);
    expect(h).toEqual([
      'MAINTAINER someone', 'SHELL [/bin/sh -ec]', 'ENTRYPOINT ["/bin/sh" "-ec" "echo hi"]', 'VOLUME [/data /logs]', 'STOPSIGNAL SIGQUIT',
      `HEALTHCHECK &{["CMD-SHELL" "wget -q localhost || exit 1"] "30s" "5s" "0s" "0s" '\\x03'}`, 'ONBUILD COPY . /onbuild/', 'USER nobody', 'EXPOSE map[8000/udp:{} 8001/udp:{}]',
    ]);
    // The child runs the triggers and does not inherit them.
    await e.build({ tags: ['child:1'], context: { Dockerfile: 'FROM meta:1\nLABEL child=1\n', 'f.txt': 'x' } });
    const child = await raw('child:1');
    expect(child['config'].OnBuild).toBeUndefined();
    const img = await e.resolveImage({ ref: 'child:1' });
    expect(img.layers.length).toBe((await e.resolveImage({ ref: 'meta:1' })).layers.length + 1);
  });

  it('ARG scoping: meta args in FROM, redeclared in a stage, predefined TARGET*, unused build-arg warning', async () => {
    let text = '';
    const r = await e.build({
      tags: ['args:1'], buildArgs: { NAME: 'busybox', UNUSED: '1' }, onProgress: (t) => { text += t; },
      context: { Dockerfile: 'ARG NAME=nope\nARG TAG=latest\nFROM skiff/${NAME}:${TAG}\nARG TAG\nARG TARGETPLATFORM\nENV T=$TAG P=$TARGETPLATFORM N=${NAME:-unset}\n' },
    });
    const c = await raw('args:1');
    expect(c['config'].Env).toEqual(expect.arrayContaining(['T=latest', 'P=linux/386', 'N=unset']));
    const hist = (c['history'] as Array<{ created_by: string }>).slice(-3).map((h) => h.created_by);
    expect(hist).toEqual(['ARG TAG=latest', 'ARG TARGETPLATFORM=linux/386', 'ENV T=latest P=linux/386 N=unset']);
    expect(r.warnings).toEqual(['[Warning] One or more build-args [UNUSED] were not consumed']);
    expect(text).toContain('[Warning] One or more build-args [UNUSED] were not consumed');
  });

  it('COPY globs, a directory source copies its contents, file into an existing directory', async () => {
    await e.build({
      tags: ['glob:1'],
      context: {
        Dockerfile: 'FROM skiff/busybox\nCOPY *.txt /out/txt/\nCOPY dir /out/d\nCOPY dir/ /out/d2/\nCOPY one.txt /out\n',
        'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'one.txt': '1', 'dir/x': 'x', 'dir/sub/y': 'y',
      },
    });
    expect(await paths('glob:1')).toEqual([
      '/out/d', '/out/d/sub', '/out/d/sub/y', '/out/d/x', '/out/d2', '/out/d2/sub', '/out/d2/sub/y', '/out/d2/x',
      '/out/one.txt', '/out/txt', '/out/txt/a.txt', '/out/txt/b.txt', '/out/txt/one.txt',
    ]);
  });

  it('SHELL needs JSON; unknown flags and bad arguments are errors with lines', async () => {
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nSHELL /bin/bash -c\n' } })).rejects.toThrow('Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --bogus=1 a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: COPY: unknown flag: bogus');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nEXPOSE abc\n' } })).rejects.toThrow('Dockerfile:2: EXPOSE: invalid containerPort: abc');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --parents a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: COPY: COPY --parents is not supported');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nADD --checksum=sha256:00 a /\n', a: '' } })).rejects.toThrow("Dockerfile:2: ADD: checksum can't be specified for non-HTTP(S) sources");
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=secret,id=x true\n' } })).rejects.toThrow('Dockerfile:2: RUN: RUN --mount=type=secret is not supported');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=cache true\n' } })).rejects.toThrow('Dockerfile:2: RUN: mount type=cache: target is required');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nSTOPSIGNAL SIGBOGUS\n' } })).rejects.toThrow('Dockerfile:2: STOPSIGNAL: Invalid signal: SIGBOGUS');
    await expect(e.build({ context: { Dockerfile: 'FROM a b\n' } })).rejects.toThrow('Dockerfile:1: FROM requires either one or three arguments');
    await expect(e.build({ context: { Dockerfile: 'RUN x\nFROM scratch\n' } })).rejects.toThrow('Dockerfile:1: no build stage in current context');
    await expect(e.build({ context: {} })).rejects.toThrow(/failed to read dockerfile/);
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\n' }, tags: ['Bad Tag'] })).rejects.toThrow(/invalid tag "Bad Tag"/);
  });

  it('WORKDIR makes directories owned by USER; a Dockerfile.dockerignore wins over .dockerignore; mtimes kept', async () => {
    await e.build({
      tags: ['wd:1'], dockerfilePath: 'app.Dockerfile',
      context: new Map<string, any>([
        ['app.Dockerfile', 'FROM skiff/busybox\nUSER 1000:1000\nWORKDIR /out/made\nCOPY . /out/ctx/\n'],
        ['app.Dockerfile.dockerignore', 'skip\n'], ['.dockerignore', 'keep\n'],
        ['keep', { type: 'file', mode: 0o640, data: new TextEncoder().encode('k'), mtimeMs: 1_000_000_000_000 }], ['skip', 's'],
      ]),
    });
    const rec = await e.createContainer({ image: 'wd:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const out = fs.lookup(fs.root(), 'out');
    const made = fs.stat(fs.lookup(out, 'made'));
    expect([made.uid, made.gid]).toEqual([1000, 1000]);
    const ctx = fs.lookup(out, 'ctx');
    expect(fs.readdir(ctx).map((d) => d.name).filter((n) => n !== '.' && n !== '..').sort()).toEqual(['.dockerignore', 'app.Dockerfile', 'app.Dockerfile.dockerignore', 'keep']);
    const keep = fs.stat(fs.lookup(ctx, 'keep'));
    expect([keep.mode & 0o777, keep.mtimeMs]).toEqual([0o640, 1_000_000_000_000]);
    await e.removeContainer({ id: rec.id, force: true });
  });

  it('a stage built FROM an earlier stage: its CMD counts as inherited (ENTRYPOINT resets it), ARGs do not carry over', async () => {
    await e.build({
      tags: ['stages:1'], buildArgs: { A: 'x' },
      context: { Dockerfile: 'FROM scratch AS base\nARG A\nCMD ["base"]\nFROM base\nENTRYPOINT ["/e"]\nENV SEEN=${A:-none}\n' },
    });
    const c = await raw('stages:1');
    expect(c['config'].Cmd).toBeUndefined();
    expect(c['config'].Env).toEqual(['SEEN=none']);
  });
});
