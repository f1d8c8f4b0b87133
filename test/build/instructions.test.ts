/** Every metadata instruction's config and history, ONBUILD in a child build, ARG scoping, globs. */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { tarEntry, writeTar } from '../../src/archive/index.ts';
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
    // BuildKit's lines (ONBUILD writes none).
    const h = (c['history'] as Array<{ created_by: string; empty_layer?: boolean }>).slice(-8).map((x) => x.created_by);
    expect(h).toEqual([
      'MAINTAINER someone', 'SHELL [/bin/sh -ec]', 'ENTRYPOINT ["/bin/sh" "-ec" "echo hi"]', 'VOLUME [/data /logs]', 'STOPSIGNAL SIGQUIT',
      'HEALTHCHECK {Test:[CMD-SHELL wget -q localhost || exit 1] Interval:30s Timeout:5s StartPeriod:0s StartInterval:0s Retries:3}', 'USER nobody', 'EXPOSE [8000/udp 8001/udp]',
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
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nSHELL /bin/bash -c\n' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --bogus=1 a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: unknown flag: --bogus');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --chmod=1 --chmod=2 a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: duplicate flag specified: --chmod');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --from a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: missing a value on flag: --from');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --link=maybe a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --checksum=sha256:00 a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: unknown flag: --checksum');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY http://example.com/a /\n' } })).rejects.toThrow("Dockerfile:2: COPY: source can't be a URL for COPY");
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY https://github.com/moby/buildkit.git /\n' } })).rejects.toThrow("source can't be a git ref for COPY");
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nADD git@github.com:moby/buildkit.git /src\n' } })).rejects.toThrow('adding a Git repository is not supported');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nARG S=x\nCOPY --from=$S a /\n' } })).rejects.toThrow('variable expansion is not supported for --from');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --from=5 a /\n' } })).rejects.toThrow('invalid stage index 5');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS first\nCOPY --from=later a /\nFROM scratch AS later\n' }, target: 'first' })).rejects.toThrow('cannot copy from stage "later", it needs to be defined before current stage "first"');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY a <<EOF\nx\nEOF\n', a: '' } })).rejects.toThrow('COPY cannot accept a heredoc as a destination');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nCOPY --chmod=99 a /\n', a: '' } })).rejects.toThrow("invalid chmod parameter: '99'. it should be octal string and between 0 and 07777");
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nHEALTHCHECK --retries=-1 CMD true\n' } })).rejects.toThrow('--retries cannot be negative (-1)');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nHEALTHCHECK --interval=1us CMD true\n' } })).rejects.toThrow('Interval "interval" cannot be less than 1ms');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nHEALTHCHECK --timeout=5 CMD true\n' } })).rejects.toThrow('time: missing unit in duration "5"');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nHEALTHCHECK CMD\n' } })).rejects.toThrow('Missing command after HEALTHCHECK CMD');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nEXPOSE 80/xyz\n' } })).rejects.toThrow('invalid port: "80/xyz": invalid proto: xyz');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nEXPOSE 90-80\n' } })).rejects.toThrow('invalid containerPort: 90-80');
    // As BuildKit, the whole file is checked: a bad instruction in a stage the target does not need fails too.
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS unused\nSHELL /bin/sh -c\nFROM scratch\nLABEL a=b\n' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS unused\nONBUILD FROM x\nFROM scratch\n' } })).rejects.toThrow("FROM isn't allowed as an ONBUILD trigger");
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS unused\nLABEL a\nFROM scratch\n' } })).rejects.toThrow('LABEL must have two arguments');
    // Expansion waits for the step: a bad substitution in a stage that is not built is no error.
    await e.build({ context: { Dockerfile: 'FROM scratch AS unused\nENV A=${}\nFROM scratch\nLABEL ok=1\n' } });
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS unused\nMAINTAINER --boo joe\nFROM scratch\n' } })).rejects.toThrow('unknown flag: --boo');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS self\nCOPY --from=self a /\n' } })).rejects.toThrow('circular dependency detected on stage: self');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS unused\nCOPY --from=7 a /\nFROM scratch\n' } })).rejects.toThrow('invalid stage index 7');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch AS a\n' }, target: 'A1' })).rejects.toThrow('target stage "A1" could not be found (did you mean a?)');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nEXPOSE abc\n' } })).rejects.toThrow('Dockerfile:2: EXPOSE: invalid containerPort: abc');
    await expect(e.build({ context: { Dockerfile: 'FROM scratch\nADD --checksum=sha256:00 a /\n', a: '' } })).rejects.toThrow('Dockerfile:2: ADD: checksum requires HTTP(S) or Git sources');
    // No secrets reach skiff builds: a required one is "not found" (an optional one is left out, as BuildKit does).
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=secret,id=x,required true\n' } })).rejects.toThrow('Dockerfile:2: RUN: secret x: not found');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=ssh true\n' } })).rejects.toThrow('RUN --mount=type=ssh is not supported');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=cache true\n' } })).rejects.toThrow('Dockerfile:2: RUN: invalid mount target "/"');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=cahce,target=/x true\n' } })).rejects.toThrow('unsupported mount type "cahce" (did you mean cache?)');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=bind,targte=/x true\n' } })).rejects.toThrow("unexpected key 'targte' in 'targte=/x' (did you mean target?)");
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=bind,target=/x,uid=1 true\n' } })).rejects.toThrow('mode not allowed for "bind" type mounts');
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --network=bridge true\n' } })).rejects.toThrow('invalid network mode "bridge"');
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

  it('a stage built FROM an earlier stage: its CMD counts as inherited (ENTRYPOINT resets it), its ARGs carry over (BuildKit)', async () => {
    await e.build({
      tags: ['stages:1'], buildArgs: { A: 'x' },
      context: { Dockerfile: 'FROM scratch AS base\nARG A\nCMD ["base"]\nFROM base\nENTRYPOINT ["/e"]\nENV SEEN=${A:-none}\n' },
    });
    const c = await raw('stages:1');
    expect(c['config'].Cmd).toBeUndefined();
    // BuildKit always sets PATH (Docker's default when the base has none).
    expect(c['config'].Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SEEN=x']);
  });

  it('BuildKit details: ONBUILD has no history, EXPOSE sorted as written, VOLUME/WORKDIR/USER take the whole line, CMD sets ArgsEscaped', async () => {
    await e.build({
      tags: ['bk:1'],
      context: {
        Dockerfile: [
          'FROM scratch', 'ENV P="90 8080/udp" D="my dir"', 'EXPOSE 80 $P 443', 'WORKDIR /$D', 'USER 1:2', 'VOLUME $D /v2', 'CMD echo hi',
          'HEALTHCHECK --interval=0s --retries=0 CMD ["true"]', 'ENTRYPOINT []', 'LABEL a="b c" d=e', 'ONBUILD RUN echo x',
        ].join('\n'),
      },
    });
    const c = await raw('bk:1');
    expect(c['config']).toMatchObject({
      ExposedPorts: { '80/tcp': {}, '90/tcp': {}, '8080/udp': {}, '443/tcp': {} }, WorkingDir: '/my dir', User: '1:2', Volumes: { 'my dir': {}, '/v2': {} },
      Cmd: ['/bin/sh', '-c', 'echo hi'], ArgsEscaped: true, Healthcheck: { Test: ['CMD', 'true'] }, Labels: { a: 'b c', d: 'e' }, OnBuild: ['RUN echo x'],
    });
    expect(c['config'].Entrypoint).toBeUndefined();
    expect(c['config'].Healthcheck).toEqual({ Test: ['CMD', 'true'] });
    const h = (c['history'] as Array<{ created_by: string }>).map((x) => x.created_by);
    expect(h).toEqual([
      'ENV P=90 8080/udp D=my dir', 'EXPOSE [90/tcp 8080/udp 443/tcp 80/tcp]', 'WORKDIR /my dir', 'USER 1:2', 'VOLUME [my dir /v2]', 'CMD ["/bin/sh" "-c" "echo hi"]',
      'HEALTHCHECK {Test:[CMD true] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}', 'ENTRYPOINT []', 'LABEL a=b c d=e',
    ]);
  });

  it('ARG as BuildKit resolves it: a later ARG overrides an earlier ENV in the state; RUN history prefix dedups', async () => {
    await e.build({
      tags: ['argenv:1'], buildArgs: { G: 'cli' },
      context: { Dockerfile: 'ARG G=global\nARG H=h\nFROM scratch\nENV V=env\nARG V=arg\nARG G\nARG H\nARG H=own\nENV OUT="$V $G $H"\n' },
    });
    const c = await raw('argenv:1');
    expect(c['config'].Env).toContain('OUT=arg cli own');
    expect(c['config'].Env).toContain('V=env');
  });

  it('COPY as BuildKit: empty wildcards, symbolic --chmod, --exclude, ADD --unpack=false, heredoc bodies keep quotes, the history line expanded', async () => {
    const tgz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await e.build({
      tags: ['cp:1'],
      context: {
        Dockerfile: [
          'FROM skiff/busybox', 'ARG U=1000', 'ENV D=/out',
          'COPY a.txt nomatch* $D/w/', 'COPY --chmod=u+x,g-r --chown=$U:$U a.txt $D/sym', 'COPY --exclude=*.log --exclude=sub/skip dir $D/ex/',
          'ADD --unpack=false p.tgz $D/', 'COPY <<EOF <<-"RAW" $D/h/', 'say "$D" \\$D', 'EOF', '\tkeep $D', '\tRAW',
        ].join('\n'),
        'a.txt': { type: 'file', mode: 0o644, data: new TextEncoder().encode('a') } as never, 'p.tgz': tgz,
        'dir/x.log': 'l', 'dir/y': 'y', 'dir/sub/skip': 's', 'dir/sub/keep': 'k',
      },
    });
    expect(await paths('cp:1')).toEqual([
      '/out/ex', '/out/ex/sub', '/out/ex/sub/keep', '/out/ex/y', '/out/h', '/out/h/EOF', '/out/h/RAW', '/out/p.tgz', '/out/sym', '/out/w', '/out/w/a.txt',
    ]);
    const rec = await e.createContainer({ image: 'cp:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const out = fs.lookup(fs.root(), 'out');
    const sym = fs.stat(fs.lookup(out, 'sym'));
    expect([sym.mode & 0o7777, sym.uid, sym.gid]).toEqual([0o704, 1000, 1000]);
    const text = (n: ReturnType<typeof fs.root>): string => new TextDecoder().decode(fs.read(n, 0, fs.stat(n).size));
    const h = fs.lookup(out, 'h');
    expect(text(fs.lookup(h, 'EOF'))).toBe('say "/out" $D\n');
    expect(text(fs.lookup(h, 'RAW'))).toBe('keep $D\n');
    await e.removeContainer({ id: rec.id, force: true });
    const hist = ((await raw('cp:1'))['history'] as Array<{ created_by: string }>).slice(-5).map((x) => x.created_by);
    expect(hist).toEqual([
      'COPY a.txt nomatch* /out/w/ # buildkit', 'COPY --chown=1000:1000 --chmod=u+x,g-r a.txt /out/sym # buildkit', 'COPY dir /out/ex/ # buildkit',
      'ADD p.tgz /out/ # buildkit', 'COPY <<EOF <<RAW /out/h/ # buildkit',
    ]);
  });

  it('ONBUILD in an earlier stage runs in a stage built FROM it, which does not inherit the trigger', async () => {
    await e.build({ tags: ['obstage:1'], context: { Dockerfile: 'FROM scratch AS base\nONBUILD LABEL from=trigger\nLABEL base=1\nFROM base\nLABEL child=1\n' } });
    const c = await raw('obstage:1');
    expect(c['config'].Labels).toEqual({ base: '1', from: 'trigger', child: '1' });
    expect(c['config'].OnBuild).toBeUndefined();
    expect((c['history'] as Array<{ created_by: string }>).map((h) => h.created_by)).toEqual(['LABEL base=1', 'LABEL from=trigger', 'LABEL child=1']);
  });

  it('COPY --parents keeps the source directories (the reference\'s examples), also --from a stage', async () => {
    await e.build({
      tags: ['parents:1'],
      context: {
        Dockerfile: [
          'FROM skiff/busybox AS files', 'COPY . /ctx/',
          'FROM skiff/busybox', 'COPY ./x/a.txt ./y/a.txt /out/no_parents/', 'COPY --parents ./x/a.txt ./y/a.txt /out/parents/',
          'COPY --parents ./x/./y/*.txt /out/pivot/', 'COPY --parents ./src/**/*.txt /out/deep/', 'COPY --parents --from=files /ctx/./src/x /out/staged/',
        ].join('\n'),
        'x/a.txt': 'xa', 'y/a.txt': 'ya', 'x/y/a.txt': 'xya', 'x/y/b.txt': 'xyb', 'src/a.txt': '1', 'src/x/b.txt': '2', 'src/x/y/c.txt': '3', 'src/x/y/d.md': '4',
      },
    });
    expect(await paths('parents:1')).toEqual([
      '/out/deep', '/out/deep/src', '/out/deep/src/a.txt', '/out/deep/src/x', '/out/deep/src/x/b.txt', '/out/deep/src/x/y', '/out/deep/src/x/y/c.txt',
      '/out/no_parents', '/out/no_parents/a.txt',
      '/out/parents', '/out/parents/x', '/out/parents/x/a.txt', '/out/parents/y', '/out/parents/y/a.txt',
      '/out/pivot', '/out/pivot/y', '/out/pivot/y/a.txt', '/out/pivot/y/b.txt',
      '/out/staged', '/out/staged/src', '/out/staged/src/x', '/out/staged/src/x/b.txt', '/out/staged/src/x/y', '/out/staged/src/x/y/c.txt', '/out/staged/src/x/y/d.md',
    ]);
    const h = ((await raw('parents:1'))['history'] as Array<{ created_by: string }>).at(-1)!.created_by;
    expect(h).toBe('COPY --parents /ctx/./src/x /out/staged/ # buildkit');
  });

  it('SOURCE_DATE_EPOCH fixes the image and history times, cached steps too', async () => {
    const ctx = { Dockerfile: 'FROM scratch\nCOPY f /\nLABEL a=b\n', f: 'x' };
    for (let i = 0; i < 2; i++) {
      await e.build({ tags: ['sde:1'], buildArgs: { SOURCE_DATE_EPOCH: '1700000000' }, context: ctx });
      const c = await raw('sde:1');
      expect(c['created']).toBe('2023-11-14T22:13:20.000Z');
      expect((c['history'] as Array<{ created: string }>).map((h) => h.created)).toEqual(['2023-11-14T22:13:20.000Z', '2023-11-14T22:13:20.000Z']);
    }
  });

  it('COPY heredoc special symbols as BuildKit writes them (escapes processed unless the delimiter is quoted)', async () => {
    const docs: Array<[string, string, string]> = [
      ['EOF', 'quotefile', '"quotes in file"'], ['EOF', 'slashfile1', '\\'], ['EOF', 'slashfile2', '\\\\'], ['EOF', 'slashfile3', '\\$'],
      ['"EOF"', 'rawslashfile1', '\\'], ['"EOF"', 'rawslashfile2', '\\\\'], ['"EOF"', 'rawslashfile3', '\\$'],
    ];
    const lines = ['FROM scratch', 'CMD ["x"]', ...docs.flatMap(([d, f, body]) => [`COPY <<${d} /out/${f}`, body, 'EOF'])];
    await e.build({ tags: ['hd:1'], context: { Dockerfile: lines.join('\n') } });
    const rec = await e.createContainer({ image: 'hd:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const out = fs.lookup(fs.root(), 'out');
    const text = (f: string): string => { const n = fs.lookup(out, f); return new TextDecoder().decode(fs.read(n, 0, fs.stat(n).size)); };
    expect(docs.map(([, f]) => text(f))).toEqual(['"quotes in file"\n', '\n', '\\\n', '$\n', '\\\n', '\\\\\n', '\\$\n']);
    await e.removeContainer({ id: rec.id, force: true });
  });

  it('COPY ownership and links as BuildKit: --from keeps owners, existing directories untouched, --chmod parents, symlinks followed', async () => {
    const own = writeTar([
      tarEntry({ name: 'file', uid: 100, gid: 200 }, 'f'), tarEntry({ name: 'dir/', type: 'directory', uid: 100, gid: 200 }),
      tarEntry({ name: 'dir/subdir/', type: 'directory', uid: 101, gid: 201 }), tarEntry({ name: 'dir/subdir/nestedfile', uid: 102, gid: 202 }, 'n'),
    ]);
    const exist = writeTar([tarEntry({ name: 'existingdir/', type: 'directory', uid: 500, gid: 600, mode: 0o750 }), tarEntry({ name: 'existingdir/existingsubdir/', type: 'directory', uid: 501, gid: 601 })]);
    const link = (to: string) => ({ type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname: to });
    await e.build({
      tags: ['own:1'],
      context: {
        Dockerfile: [
          'FROM skiff/busybox AS source', 'ADD own.tar /',
          'FROM skiff/busybox', 'ADD exist.tar /', 'COPY --from=source /file /out/', 'COPY --from=source /dir/. /existingdir',
          'COPY --from=source --chown=300:400 /dir /dir2', 'COPY --chmod=777 foo /parent/foo', 'COPY --chmod=770 foo /parent/sub/foo',
          'COPY link/foo /out/viaLink', 'COPY sub/l* /out/alllinks/', 'CMD ["x"]',
        ].join('\n'),
        'own.tar': own, 'exist.tar': exist, foo: 'foo', link: link('sub') as never, 'sub/foo': 'via link', 'sub/lfile': 'lfile',
        'sub/l0': link('subfile') as never, 'sub/subfile': 'subfile', 'sub/l1': link('second') as never, 'sub/second': link('baz') as never, 'sub/baz': 'baz',
      },
    });
    const rec = await e.createContainer({ image: 'own:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const at = (p: string) => { let n = fs.root(); for (const x of p.split('/').filter(Boolean)) n = fs.lookup(n, x); return n; };
    const owner = (p: string) => { const st = fs.stat(at(p)); return `${st.uid}:${st.gid}`; };
    const text = (p: string) => new TextDecoder().decode(fs.read(at(p), 0, fs.stat(at(p)).size));
    expect(['/out/file', '/existingdir', '/existingdir/existingsubdir', '/existingdir/subdir', '/existingdir/subdir/nestedfile', '/dir2', '/dir2/subdir/nestedfile'].map(owner))
      .toEqual(['100:200', '500:600', '501:601', '101:201', '102:202', '300:400', '300:400']);
    expect(fs.stat(at('/existingdir')).mode & 0o7777).toBe(0o750);
    expect([fs.stat(at('/parent')).mode & 0o7777, fs.stat(at('/parent/sub')).mode & 0o7777]).toEqual([0o777, 0o770]);
    expect([text('/out/viaLink'), text('/out/alllinks/l0'), text('/out/alllinks/l1'), text('/out/alllinks/lfile')]).toEqual(['via link', 'subfile', 'baz', 'lfile']);
    await e.removeContainer({ id: rec.id, force: true });
  });

  it('COPY into a symlink to a missing directory makes the directory where it points (BuildKit\'s SymlinkDestination)', async () => {
    const t = writeTar([tarEntry({ name: 'symlink', type: 'symlink', linkname: '../tmp/symlink-target' })]);
    await e.build({ tags: ['symdest:1'], context: { Dockerfile: 'FROM scratch\nADD t.tar /\nCOPY foo /symlink/\nCMD ["x"]\n', 't.tar': t, foo: 'content' } });
    const rec = await e.createContainer({ image: 'symdest:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const n = fs.lookup(fs.lookup(fs.lookup(fs.root(), 'tmp'), 'symlink-target'), 'foo');
    expect(new TextDecoder().decode(fs.read(n, 0, fs.stat(n).size))).toBe('content');
    expect(fs.stat(fs.lookup(fs.root(), 'symlink')).kind).toBe('symlink');
    await e.removeContainer({ id: rec.id, force: true });
  });

  it('FROM scratch with only ENV: no layers, one history entry (BuildKit\'s ScratchConfig); FROM a stage named by a predefined ARG', async () => {
    await e.build({ tags: ['scratchcfg:1'], context: { Dockerfile: 'FROM scratch\nENV foo=bar\n' } });
    const c = await raw('scratchcfg:1');
    expect(c['rootfs']).toEqual({ type: 'layers', diff_ids: [] });
    expect(c['history']).toHaveLength(1);
    expect(c['history'][0]).toMatchObject({ created_by: 'ENV foo=bar', empty_layer: true });
    expect(c['config'].Env).toContain('foo=bar');
    await e.build({ tags: ['platstage:1'], context: { Dockerfile: 'FROM scratch AS build-linux\nLABEL from=linux\nFROM build-${TARGETOS}\nLABEL two=1\n' } });
    expect((await raw('platstage:1'))['config'].Labels).toEqual({ from: 'linux', two: '1' });
  });
});
