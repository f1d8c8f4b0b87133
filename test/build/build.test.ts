/** Builds without the VM: scratch and skiff/busybox bases, COPY/ADD, metadata, stages, the cache. */
import { describe, expect, it } from 'vitest';
import { gzip, readTar, writeTar, tarEntry } from '../../src/archive/index.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { BuildOptions } from '../../src/build/index.ts';

const dec = new TextDecoder();

function engine(state = new MemoryStateStore(), content = new MemoryContentStore()): Engine {
  return new Engine({ content, state, bundled: bundledFromDir(defaultBundledDir()) });
}

async function build(e: Engine, o: Partial<BuildOptions> & Pick<BuildOptions, 'context'>) {
  let text = '';
  const r = await e.build({ ...o, onProgress: (t) => { text += t; } });
  return { ...r, text };
}

async function fileOf(e: Engine, ref: string, path: string): Promise<string | undefined> {
  const rec = await e.createContainer({ image: ref, runtime: 'vm' });
  const fs = await e.containerFs({ id: rec.id });
  let n = fs.root();
  try {
    for (const p of path.split('/').filter(Boolean)) n = fs.lookup(n, p);
    return dec.decode(fs.read(n, 0, fs.stat(n).size));
  } catch {
    return undefined;
  } finally {
    await e.removeContainer({ id: rec.id, force: true });
  }
}

describe('build', () => {
  it('builds metadata and COPY steps on busybox with Docker history and config', async () => {
    const e = engine();
    const r = await build(e, {
      tags: ['demo:1'],
      context: {
        Dockerfile: 'FROM skiff/busybox\nARG V=1\nENV A=x B=${V:-none}\nWORKDIR /app\nCOPY hello.txt ./\nLABEL l="v 1"\nEXPOSE 80 53/udp\nCMD ["sh", "-c", "cat hello.txt"]\n',
        'hello.txt': 'hi\n',
      },
    });
    expect(r.steps.every((s) => !s.cached)).toBe(true);
    const cfg = await e.imageConfig({ ref: 'demo:1' });
    expect(cfg.config?.Env).toEqual(expect.arrayContaining(['A=x', 'B=1']));
    expect(cfg.config?.WorkingDir).toBe('/app');
    expect(cfg.config?.Labels).toEqual({ l: 'v 1' });
    expect(cfg.config?.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(cfg.config?.Cmd).toEqual(['sh', '-c', 'cat hello.txt']);
    expect(await fileOf(e, 'demo:1', '/app/hello.txt')).toBe('hi\n');
    const hist = await e.history({ ref: 'demo:1' });
    expect(hist.slice(0, 7).map((h) => h.createdBy)).toEqual([
      'CMD ["sh" "-c" "cat hello.txt"]', 'EXPOSE [53/udp 80/tcp]', 'LABEL l=v 1', 'COPY hello.txt ./ # buildkit', 'WORKDIR /app', 'ENV A=x B=1', 'ARG V=1',
    ]);
    expect(hist[3]!.emptyLayer).toBe(false);
    expect(hist[0]!.emptyLayer).toBe(true);
    expect(r.text).toMatch(/#\d+ \[3\/3\] COPY hello.txt \.\//);
  });

  it('a second build is all cache; a changed file rebuilds from its COPY on; the cache survives a new engine', async () => {
    const state = new MemoryStateStore();
    const content = new MemoryContentStore();
    const ctx = (b: string) => ({ Dockerfile: 'FROM skiff/busybox\nCOPY a /a\nENV X=1\nCOPY b /b\nLABEL z=1\n', a: 'A', b });
    const e1 = engine(state, content);
    const first = await build(e1, { context: ctx('B'), tags: ['c:1'] });
    expect(first.steps.map((s) => s.cached)).toEqual([false, false, false, false]);
    const again = await build(e1, { context: ctx('B'), tags: ['c:2'] });
    expect(again.steps.map((s) => s.cached)).toEqual([true, true, true, true]);
    expect(again.id).not.toBe('');
    expect(again.text).toContain('CACHED');
    const e2 = engine(state, content);
    const changed = await build(e2, { context: ctx('B2'), tags: ['c:3'] });
    expect(changed.steps.map((s) => s.cached)).toEqual([true, true, false, false]);
    expect(await fileOf(e2, 'c:3', '/b')).toBe('B2');
    const noCache = await build(e2, { context: ctx('B2'), noCache: true });
    expect(noCache.steps.some((s) => s.cached)).toBe(false);
    // `image prune -a` takes the images, not the build cache's layers; `builder prune` takes those.
    for (const t of ['c:1', 'c:2', 'c:3']) await e2.removeImage({ ref: t });
    await e2.pruneImages({ all: true });
    expect((await build(e2, { context: ctx('B') })).steps.map((s) => s.cached)).toEqual([true, true, true, true]);
    const pruned = await e2.pruneBuildCache();
    expect(pruned.deleted.length).toBeGreaterThanOrEqual(6);
    expect((await build(e2, { context: ctx('B') })).steps.map((s) => s.cached)).toEqual([false, false, false, false]);
  });

  it('a changed build arg misses from its first use, not at its ARG', async () => {
    const e = engine();
    const ctx = { Dockerfile: 'FROM skiff/busybox\nARG V\nCOPY a /a\nENV E=$V\nLABEL x=y\n', a: 'A' };
    await build(e, { context: ctx, buildArgs: { V: '1' } });
    const r = await build(e, { context: ctx, buildArgs: { V: '2' }, tags: ['arg:2'] });
    expect(r.steps.map((s) => s.cached)).toEqual([true, true, false, false]);
    // The cached ARG step still shows this build's value.
    expect((await e.history({ ref: 'arg:2' })).slice(0, 4).map((h) => h.createdBy)).toEqual(['LABEL x=y', 'ENV E=2', 'COPY a /a # buildkit', 'ARG V=2']);
  });

  it('multi-stage with --target builds only the stages needed; COPY --from a stage', async () => {
    const e = engine();
    const Dockerfile = 'FROM scratch AS one\nCOPY a /a\nFROM scratch AS unused\nCOPY missing /x\nFROM skiff/busybox AS final\nCOPY --from=one /a /from-one\n';
    const r = await build(e, { context: { Dockerfile, a: 'A' }, target: 'final', tags: ['ms:1'] });
    expect(r.steps.map((s) => s.instruction)).toEqual(['COPY a /a', 'COPY --from=one /a /from-one']);
    expect(await fileOf(e, 'ms:1', '/from-one')).toBe('A');
    // BuildKit leaves --from (and --link) out of the history line.
    expect((await e.history({ ref: 'ms:1' }))[0]!.createdBy).toBe('COPY /a /from-one # buildkit');
    await expect(build(e, { context: { Dockerfile, a: 'A' }, target: 'nope' })).rejects.toThrow(/target stage "nope" could not be found/);
    await expect(build(e, { context: { Dockerfile, a: 'A' }, target: 'unused' })).rejects.toThrow(/Dockerfile:4: COPY: .*missing.*not found/);
  });

  it('.dockerignore with ! exceptions and **', async () => {
    const e = engine();
    const r = await build(e, {
      tags: ['ign:1'],
      context: { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n', '.dockerignore': '**/*.log\nsecret\n!keep.log\n', 'a.log': 'x', 'd/b.log': 'x', 'keep.log': 'k', secret: 's', 'ok.txt': 'ok' },
    });
    const img = await e.resolveImage({ ref: 'ign:1' });
    const tar = readTar(await (await import('../../src/archive/index.ts')).gunzip(await Engine.contextOf(e).content.get(img.layers[0]!.digest)));
    const names = tar.map((t) => t.header.name.replace(/\/$/, '')).sort();
    expect(names).toEqual(expect.arrayContaining(['ctx/keep.log', 'ctx/ok.txt', 'ctx/Dockerfile', 'ctx/.dockerignore']));
    expect(names.some((n) => n.endsWith('a.log') || n.endsWith('b.log') || n.endsWith('secret'))).toBe(false);
    void r;
  });

  it('ADD unpacks local tars (plain, gzip, zstd, bzip2, xz); a download that fails says why', async () => {
    const e = engine();
    const tgz = await gzip(writeTar([tarEntry({ name: 'pkg/', type: 'directory' }), tarEntry({ name: 'pkg/f.txt', uid: 7, gid: 8 }, 'inside')]));
    await build(e, { tags: ['add:1'], context: { Dockerfile: 'FROM skiff/busybox\nADD p.tgz /opt/\n', 'p.tgz': tgz } });
    expect(await fileOf(e, 'add:1', '/opt/pkg/f.txt')).toBe('inside');
    // The archive's owners are kept (no --chown).
    const rec = await e.createContainer({ image: 'add:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const st = fs.stat(fs.lookup(fs.lookup(fs.lookup(fs.root(), 'opt'), 'pkg'), 'f.txt'));
    expect([st.uid, st.gid]).toEqual([7, 8]);
    await e.removeContainer({ id: rec.id, force: true });
    // A closed port: the download fails with a clear error.
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nADD http://127.0.0.1:1/x /x\n' } })).rejects.toThrow(/Dockerfile:2: ADD: ADD http:\/\/127.0.0.1:1\/x: the download failed/);
    // Several archives unpack into one destination, with or without a trailing slash.
    const t1 = writeTar([tarEntry({ name: 'foo' }, 'content0')]);
    const t2 = writeTar([tarEntry({ name: 'bar' }, 'content1')]);
    await build(e, { tags: ['add:2'], context: { Dockerfile: 'FROM skiff/busybox\nADD *.tar /dest\n', 'a.tar': t1, 'b.tar': t2 } });
    expect([await fileOf(e, 'add:2', '/dest/foo'), await fileOf(e, 'add:2', '/dest/bar')]).toEqual(['content0', 'content1']);
    // zstd tars unpack too (a frame of one raw block, made here); a gzip file that holds no tar is copied as it is.
    const tz = writeTar([tarEntry({ name: 'z.txt' }, 'zstd member')]);
    const frame = new Uint8Array(4 + 1 + 2 + 3 + tz.byteLength);
    frame.set([0x28, 0xb5, 0x2f, 0xfd, 0x60, (tz.byteLength - 256) & 0xff, (tz.byteLength - 256) >> 8]);
    const bh = (tz.byteLength << 3) | 1;
    frame.set([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff], 7);
    frame.set(tz, 10);
    const notTar = await gzip(new TextEncoder().encode('just text, no tar'));
    await build(e, { tags: ['add:3'], context: { Dockerfile: 'FROM skiff/busybox\nADD t.tar.zst /z/\nADD n.gz /n/\n', 't.tar.zst': frame, 'n.gz': notTar } });
    expect(await fileOf(e, 'add:3', '/z/z.txt')).toBe('zstd member');
    expect(await fileOf(e, 'add:3', '/n/n.gz')).toBe(dec.decode(notTar));
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nCOPY a b /dest\n', a: 'a', b: 'b' } })).rejects.toThrow('When using COPY with more than one source file, the destination must be a directory and end with a /');
    // bzip2 and xz tars as python3's tarfile writes them (libbz2, liblzma).
    const { execFileSync } = await import('node:child_process');
    const { requireTool } = await import('../helpers/peers.ts');
    const pyTar = (mode: string): Uint8Array => new Uint8Array(execFileSync(requireTool('python3', 'python3'), ['-c',
      `import io, sys, tarfile\nb = io.BytesIO()\nwith tarfile.open(fileobj=b, mode='w:${mode}') as t:\n    data = b'packed with ${mode}\\n' * 100\n    i = tarfile.TarInfo('pkg/${mode}.txt'); i.size = len(data); t.addfile(i, io.BytesIO(data))\nsys.stdout.buffer.write(b.getvalue())`]));
    await build(e, { tags: ['add:4'], context: { Dockerfile: 'FROM skiff/busybox\nADD a.tar.bz2 b.tar.xz /opt/\n', 'a.tar.bz2': pyTar('bz2'), 'b.tar.xz': pyTar('xz') } });
    expect(await fileOf(e, 'add:4', '/opt/pkg/bz2.txt')).toBe('packed with bz2\n'.repeat(100));
    expect(await fileOf(e, 'add:4', '/opt/pkg/xz.txt')).toBe('packed with xz\n'.repeat(100));
  });

  it('ADD <url> as BuildKit: named after the URL, mode 0600, Last-Modified kept, not unpacked, --checksum verified', async () => {
    const { createServer } = await import('node:http');
    const tgz = await gzip(writeTar([tarEntry({ name: 'f.txt' }, 'x')]));
    const server = createServer((req, res) => {
      if (req.url === '/files/a.tgz') {
        res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
        res.end(tgz);
      } else { res.writeHead(404); res.end(); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const e = engine();
      const { sha256Digest } = await import('../../src/oci/digest.ts');
      await build(e, { tags: ['url:1'], context: { Dockerfile: `FROM skiff/busybox\nADD ${url}/files/a.tgz /dl/\nADD --checksum=${sha256Digest(tgz)} ${url}/files/a.tgz /named\n` } });
      const rec = await e.createContainer({ image: 'url:1', runtime: 'vm' });
      const fs = await e.containerFs({ id: rec.id });
      const st = fs.stat(fs.lookup(fs.lookup(fs.root(), 'dl'), 'a.tgz'));
      expect([st.mode & 0o7777, st.size, st.mtimeMs]).toEqual([0o600, tgz.byteLength, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')]);
      expect(fs.stat(fs.lookup(fs.root(), 'named')).size).toBe(tgz.byteLength);
      await e.removeContainer({ id: rec.id, force: true });
      await expect(build(e, { context: { Dockerfile: `FROM scratch\nADD ${url}/nope /x\n` } })).rejects.toThrow('invalid response status 404');
      await expect(build(e, { context: { Dockerfile: `FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} ${url}/files/a.tgz /x\n` } })).rejects.toThrow(`digest mismatch for ${url}/files/a.tgz`);
      await expect(build(e, { context: { Dockerfile: `FROM scratch\nADD --checksum=md5:7e55db001d319a94b0b713529a756623 ${url}/files/a.tgz /x\n` } })).rejects.toThrow('unsupported digest algorithm');
      const { createHash } = await import('node:crypto');
      await build(e, { context: { Dockerfile: `FROM scratch\nENV D=sha512:${createHash('sha512').update(tgz).digest('hex')} L=${url}/files/a.tgz\nADD --checksum=\${D} \${L} /x\n` } });
    } finally {
      server.close();
    }
  });

  it('COPY --chown/--chmod, file-to-dir rules, heredoc', async () => {
    const e = engine();
    await build(e, {
      tags: ['own:1'],
      context: { Dockerfile: 'FROM skiff/busybox\nCOPY --chown=1000:1000 --chmod=0600 a /dir/\nCOPY a /file\nCOPY <<EOF /hd.txt\nhello $HOSTNAME\nEOF\n', a: 'A' },
    });
    const rec = await e.createContainer({ image: 'own:1', runtime: 'vm' });
    const fs = await e.containerFs({ id: rec.id });
    const dir = fs.lookup(fs.root(), 'dir');
    const st = fs.stat(fs.lookup(dir, 'a'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1000, 0o600]);
    expect(fs.stat(fs.lookup(fs.root(), 'file')).kind).toBe('file');
    const hd = fs.lookup(fs.root(), 'hd.txt');
    expect(dec.decode(fs.read(hd, 0, 100))).toBe('hello \n');
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nCOPY a b /notdir\n', a: 'A', b: 'B' } })).rejects.toThrow(/must be a directory and end with a \//);
    await expect(build(e, { context: { Dockerfile: 'FROM skiff/busybox\nCOPY a /etc/passwd/\n', a: 'A' } })).rejects.toThrow('Dockerfile:2: COPY: cannot copy to non-directory: /etc/passwd');
    // `..` in a destination stays inside the image's root, as in a chroot.
    await build(e, { tags: ['dots:1'], context: { Dockerfile: 'FROM skiff/busybox\nWORKDIR /w\nCOPY a ../../../up.txt\nCOPY a /../../etc/../dots/\n', a: 'A' } });
    expect(await fileOf(e, 'dots:1', '/up.txt')).toBe('A');
    expect(await fileOf(e, 'dots:1', '/dots/a')).toBe('A');
  });

  it('wasm: FROM scratch + COPY app.wasm + ENTRYPOINT for wasi/wasm; RUN there says why not', async () => {
    const e = engine();
    const wasm = await e.resolveImage({ ref: 'skiff/hello-wasm' });
    void wasm;
    const r = await build(e, { platform: 'wasi/wasm', tags: ['w:1'], context: { Dockerfile: 'FROM scratch\nCOPY app.wasm /\nENTRYPOINT ["/app.wasm"]\n', 'app.wasm': new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) } });
    const img = await e.resolveImage({ ref: 'w:1' });
    expect(img.platform).toBe('wasi/wasm');
    expect(r.id).toBe(img.id);
    await expect(build(e, { platform: 'wasi/wasm', context: { Dockerfile: 'FROM scratch\nCOPY app.wasm /\nRUN echo\n', 'app.wasm': 'x' } })).rejects.toThrow(/RUN cannot run on a wasi\/wasm base/);
  });

  it('errors name file and line: unknown instruction, missing source, unknown --from image', async () => {
    const e = engine();
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nFOO bar\n' } })).rejects.toThrow('Dockerfile:2: dockerfile parse error on line 2: unknown instruction: FOO');
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nCOPY nope /\n' } })).rejects.toThrow(/Dockerfile:2: COPY: .*nope.*not found/);
    await expect(build(e, { context: { Dockerfile: 'FROM scratch\nCOPY --from=nosuch/img /x /\n' } })).rejects.toThrow(/Dockerfile:2: COPY/);
    expect((await e.listImages()).filter((i) => i.repository !== '<none>' && !i.repository.startsWith('skiff/'))).toEqual([]);
  });

  it('contexts: a host directory path (where the engine opens host directories), a Blob tar, File objects', async () => {
    const { nodeHostDir } = await import('../../src/node.ts');
    const { mkdtempSync, writeFileSync, symlinkSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'skiff-ctx-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /c/\n');
      writeFileSync(join(dir, 'f.txt'), 'host');
      symlinkSync('f.txt', join(dir, 'link'));
      const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), hostDir: nodeHostDir });
      await e.build({ context: dir, tags: ['dir:1'] });
      const img = await e.resolveImage({ ref: 'dir:1' });
      const { gunzip } = await import('../../src/archive/index.ts');
      const tar = readTar(await gunzip(await Engine.contextOf(e).content.get(img.layers[0]!.digest)));
      expect(new TextDecoder().decode(tar.find((t) => t.header.name === 'c/f.txt')?.data)).toBe('host');
      expect(tar.find((t) => t.header.name === 'c/link')?.header).toMatchObject({ type: 'symlink', linkname: 'f.txt' });
      await expect(engine().build({ context: dir })).rejects.toThrow(/cannot open host directories/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const e2 = engine();
    const blob = new Blob([new Uint8Array(writeTar([tarEntry({ name: 'Dockerfile' }, 'FROM scratch\nCOPY x /x\n'), tarEntry({ name: 'x' }, 'from blob')]))]);
    await e2.build({ context: blob, tags: ['blob:1'] });
    const files = [new File(['FROM scratch\nCOPY y /y\n'], 'Dockerfile'), new File(['from files'], 'y')];
    await e2.build({ context: files, tags: ['files:1'] });
    expect((await e2.resolveImage({ ref: 'blob:1' })).layers.length).toBe(1);
    expect((await e2.resolveImage({ ref: 'files:1' })).layers.length).toBe(1);
  });
});
