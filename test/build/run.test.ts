/**
 * Builds that run: RUN steps in the VM on skiff/busybox (few builds: the VM is slow), the built
 * image run; a wasm image built FROM scratch run by the WASI backend; `skiff save` of a built
 * image read by skopeo.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../src/node.ts';
import { run as exec } from '../helpers/exec.ts';
import { requireTool } from '../helpers/peers.ts';

const dec = new TextDecoder();
const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: nodeRuntimes });
const dir = mkdtempSync(join(tmpdir(), 'skiff-build-'));
afterAll(async () => {
  await e.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function runImage(image: string, cmd?: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { onStdout: (d: Uint8Array) => { out += dec.decode(d); }, onStderr: (d: Uint8Array) => { out += dec.decode(d); } };
  const r = await e.runContainer({ image, ...(cmd ? { cmd } : {}), run: { rm: true }, io });
  return { code: r.exit.exitCode, out };
}

const DOCKERFILE = `# syntax=docker/dockerfile:1
FROM skiff/busybox AS base
ARG GREETING=hello
ENV APP=/app
WORKDIR $APP
COPY msg.txt .
RUN echo "$GREETING from RUN" > run.txt && cat msg.txt && id -u
RUN <<EOF
mkdir -p /app/sub
echo heredoc > /app/sub/h.txt
EOF
USER 1000
RUN id -u > /tmp/uid
CMD ["sh", "-c", "cat /app/run.txt /app/sub/h.txt /tmp/uid"]
`;

describe('build with RUN (VM)', () => {
  it('runs RUN steps as containers, records Docker history, runs the image, caches a rebuild', { timeout: 600_000 }, async () => {
    let text = '';
    const ctx = { Dockerfile: DOCKERFILE, 'msg.txt': 'from context\n' };
    const r = await e.build({ context: ctx, tags: ['built:1'], buildArgs: { GREETING: 'hi' }, onProgress: (t) => { text += t; } });
    expect(text).toMatch(/#\d+ \[4\/6\] RUN echo "\$GREETING from RUN" > run.txt && cat msg.txt && id -u\n#\d+ \d+\.\d+ from context\n#\d+ \d+\.\d+ 0\n#\d+ DONE/);
    const got = await runImage('built:1');
    expect(got).toEqual({ code: 0, out: 'hi from RUN\nheredoc\n1000\n' });
    const hist = await e.history({ ref: 'built:1' });
    expect(hist.map((h) => h.createdBy).slice(0, 4)).toEqual([
      'CMD ["sh" "-c" "cat /app/run.txt /app/sub/h.txt /tmp/uid"]',
      'RUN |1 GREETING=hi /bin/sh -c id -u > /tmp/uid # buildkit',
      'USER 1000',
      'RUN |1 GREETING=hi /bin/sh -c mkdir -p /app/sub\necho heredoc > /app/sub/h.txt\n # buildkit',
    ]);
    const again = await e.build({ context: ctx, tags: ['built:2'], buildArgs: { GREETING: 'hi' } });
    expect(again.steps.every((s) => s.cached)).toBe(true);
    expect(again.id).toBe(r.id);
    // A changed arg misses at its first use (the first RUN), not before.
    const changed = await e.build({ context: ctx, buildArgs: { GREETING: 'yo' } });
    expect(changed.steps.map((s) => s.cached)).toEqual([true, true, true, true, false, false, false, false, false]);
  });

  it('a failing RUN names the line and the exit code, and tags nothing', { timeout: 300_000 }, async () => {
    const err = await e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN echo out; exit 3\n' }, tags: ['fail:1'] }).catch((x: Error) => x);
    expect(String(err)).toContain('Dockerfile:2: RUN: process "/bin/sh -c echo out; exit 3" did not complete successfully: exit code: 3');
    await expect(e.resolveImage({ ref: 'fail:1' })).rejects.toThrow(/No such image/);
    expect((await e.listContainers({ all: true })).length).toBe(0);
  });

  it('RUN --mount: a cache volume kept across builds, a bind of context files, a tmpfs; none in the layer', { timeout: 600_000 }, async () => {
    const ctx = {
      Dockerfile: [
        'FROM skiff/busybox',
        "RUN --mount=type=cache,target=/cache sh -c 'echo x >> /cache/log; wc -l < /cache/log > /count'",
        'RUN --mount=type=bind,source=sub,target=/src cat /src/f > /copied',
        "RUN --mount=type=tmpfs,target=/t sh -c 'echo y > /t/y && ls /t > /tmpls'",
        'CMD ["sh", "-c", "cat /count /copied /tmpls; ls /cache /src /t 2>/dev/null | wc -l"]',
      ].join('\n'),
      'sub/f': 'bound\n',
    };
    await e.build({ context: ctx, tags: ['mounts:1'], noCache: true });
    await e.build({ context: ctx, tags: ['mounts:2'], noCache: true });
    const got = await runImage('mounts:2');
    expect(got.out.split(/\s+/).filter(Boolean)).toEqual(['2', 'bound', 'y', '0']);
    expect((await e.listVolumes()).filter((v) => v.name.startsWith('skiff-build-cache-')).length).toBe(1);
    expect((await e.listVolumes()).filter((v) => v.labels['skiff.build.bind']).length).toBe(0);
    const pruned = await e.pruneBuildCache();
    expect(pruned.deleted.some((d) => d.startsWith('skiff-build-cache-'))).toBe(true);
    expect((await e.listVolumes()).filter((v) => v.name.startsWith('skiff-build-cache-')).length).toBe(0);
  });

  it('heredocs as BuildKit runs them: the shell expands RUN bodies, #! bodies run as files, <<- strips tabs, COPY keeps quotes', { timeout: 600_000 }, async () => {
    const ctx = {
      Dockerfile: [
        'FROM skiff/busybox',
        'ARG name=world',
        'RUN mkdir /dest',
        'COPY <<EOF /dest/q2',
        'Hello "${name}"! \\$name',
        'EOF',
        'RUN <<EOF',
        'name="new world"',
        'echo "Hello ${name}!" > /dest/r2',
        'EOF',
        'RUN <<-EOF',
        '\techo "bar" > /dest/bar-run',
        '\tEOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "shebang $0" > /dest/sb',
        'EOF',
        'RUN <<EOF sh > /dest/piped',
        'echo piped',
        'EOF',
        'RUN echo "proxy=$HTTP_PROXY" > /dest/proxy',
        'CMD ["sh", "-c", "cat /dest/q2 /dest/r2 /dest/bar-run /dest/sb /dest/piped /dest/proxy"]',
      ].join('\n'),
    };
    // A predefined proxy arg reaches RUN without an ARG line and stays out of history.
    await e.build({ context: ctx, tags: ['heredoc:1'], buildArgs: { http_proxy: 'http://proxy.invalid:3128' } });
    const got = await runImage('heredoc:1');
    expect(got.out).toBe('Hello "world"! $name\nHello new world!\nbar\nshebang /dev/pipes/EOF\npiped\nproxy=http://proxy.invalid:3128\n');
    const hist = await e.history({ ref: 'heredoc:1' });
    expect(hist[1]!.createdBy).toBe('RUN |1 name=world /bin/sh -c echo "proxy=$HTTP_PROXY" > /dest/proxy # buildkit');
  });

  it('RUN --mount=type=bind of single files (the context\'s and a stage\'s): there for the step, not in its layer', { timeout: 600_000 }, async () => {
    const ctx = {
      Dockerfile: [
        'FROM skiff/busybox AS other', 'RUN echo staged > /made.txt',
        'FROM skiff/busybox', 'WORKDIR /src',
        'RUN --mount=type=bind,source=go.sum,target=go.sum --mount=type=bind,from=other,source=/made.txt,target=/etc/made.txt cat go.sum /etc/made.txt > /both',
        'CMD ["sh", "-c", "cat /both; ls /src/go.sum /etc/made.txt 2>/dev/null | wc -l"]',
      ].join('\n'),
      'go.sum': 'sum line\n',
    };
    await e.build({ context: ctx, tags: ['filebind:1'] });
    const got = await runImage('filebind:1');
    expect(got.out.split('\n').map((l) => l.trim())).toEqual(['sum line', 'staged', '0', '']);
  });

  it('RUN --mount=type=secret: a file (default /run/secrets/<id>) or a variable for the step only; a missing optional one is left out', { timeout: 600_000 }, async () => {
    const ctx = {
      Dockerfile: [
        'FROM skiff/busybox',
        'RUN --mount=type=secret,id=tok cat /run/secrets/tok > /a',
        'RUN --mount=type=secret,id=tok,env=TOKEN echo "$TOKEN" > /b',
        'RUN --mount=type=secret,id=missing cat /run/secrets/missing 2>/dev/null || echo none > /c',
        'CMD ["sh", "-c", "cat /a /b /c; ls /run/secrets 2>/dev/null | wc -l; env | grep -c TOKEN"]',
      ].join('\n'),
    };
    await e.build({ context: ctx, tags: ['secret:1'], secrets: { tok: 's3cret' } });
    const got = await runImage('secret:1');
    expect(got.out).toBe('s3crets3cret\nnone\n0\n0\n');
    const hist = await e.history({ ref: 'secret:1' });
    expect(hist.some((h) => h.createdBy.includes('s3cret'))).toBe(false);
    await expect(e.build({ context: { Dockerfile: 'FROM skiff/busybox\nRUN --mount=type=secret,id=need,required true\n' } })).rejects.toThrow('secret need: not found');
  });

  it('skopeo inspects `save` of a built image', { timeout: 120_000 }, async () => {
    const skopeo = requireTool('skopeo', 'skopeo');
    const chunks: Uint8Array[] = [];
    for await (const c of await e.saveArchive({ refs: ['built:1'] })) chunks.push(c);
    const file = join(dir, 'built.tar');
    writeFileSync(file, Buffer.concat(chunks));
    const res = exec(skopeo, ['inspect', '--config', `docker-archive:${file}`]);
    const cfg = JSON.parse(res) as { config: { User: string; WorkingDir: string }; history: Array<{ created_by: string }> };
    expect(cfg.config).toMatchObject({ User: '1000', WorkingDir: '/app' });
    expect(cfg.history.at(-1)!.created_by).toBe('CMD ["sh" "-c" "cat /app/run.txt /app/sub/h.txt /tmp/uid"]');
  });
});

describe('build a wasm image', () => {
  it('FROM scratch + COPY app.wasm + ENTRYPOINT --platform wasi/wasm runs on the WASI backend', { timeout: 120_000 }, async () => {
    const cfg = await e.imageConfig({ ref: 'skiff/hello-wasm' });
    const rec = await e.createContainer({ image: 'skiff/hello-wasm' });
    const fs = await e.containerFs({ id: rec.id });
    const entry = (cfg.config?.Entrypoint ?? cfg.config?.Cmd ?? [])[0]!;
    let n = fs.root();
    for (const p of entry.split('/').filter(Boolean)) n = fs.lookup(n, p);
    const wasm = fs.read(n, 0, fs.stat(n).size);
    await e.removeContainer({ id: rec.id, force: true });
    await e.build({ platform: 'wasi/wasm', tags: ['mywasm:1'], context: { Dockerfile: 'FROM scratch\nCOPY app.wasm /\nENTRYPOINT ["/app.wasm"]\n', 'app.wasm': wasm } });
    const got = await runImage('mywasm:1');
    expect(got.code).toBe(0);
    expect(got.out).toContain('Hello from WebAssembly!\nargc=1\nargv[0]=/app.wasm\n');
  });
});
