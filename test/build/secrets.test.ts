/**
 * Build secrets (RUN --mount=type=secret) reach the step's process only, as BuildKit hands them:
 * the file at its target with its mode and owner, the variable with env=; never the step
 * container's record (inspect), the state or content directories (what a kill mid-step leaves on
 * disk is what is there while the step runs), the image's layers, history or config, nor the
 * cache key. The plumbing (runtime/secrets.ts withSecrets) is checked without a VM first.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/node.ts';
import { withSecrets, SECRET_FILE } from '../../src/runtime/secrets.ts';
import { parseRunMount } from '../../src/build/run-mounts.ts';
import type { StartContainerRequest } from '../../src/runtime/types.ts';
import type { ContainerSpec } from '../../src/runtime/spec/container-spec.ts';
import { Overlay } from '../../src/fs/overlay.ts';

const enc = new TextEncoder();
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const dec = new TextDecoder();

describe('secrets plumbing (no VM)', () => {
  it('withSecrets: env and in-memory read-only file binds on a copy of the spec; the stored spec is untouched', () => {
    const spec = { env: ['A=1', 'TOKEN=old'], mounts: [] } as unknown as ContainerSpec;
    const req = { id: 'x', rootfs: new Overlay({ lower: null }), spec, volumes: [], io: { onStdout: () => {}, onStderr: () => {} },
      secrets: { env: { TOKEN: 'new' }, files: [{ path: '/run/secrets/t', data: enc.encode('zz'), mode: 0o440, uid: 7, gid: 8 }] } } as StartContainerRequest;
    const out = withSecrets(req);
    expect(out.spec.env).toEqual(['A=1', 'TOKEN=new']);
    expect(out.spec.mounts).toEqual([{ type: 'bind', source: 'secret:/run/secrets/t', destination: '/run/secrets/t', readOnly: true, propagation: 'rprivate' }]);
    expect(out.secrets).toBeUndefined();
    expect(spec.env).toEqual(['A=1', 'TOKEN=old']);
    expect(spec.mounts).toEqual([]);
    const v = out.volumes[0]!;
    expect(v).toMatchObject({ destination: '/run/secrets/t', readOnly: true, file: SECRET_FILE });
    const node = v.fs.lookup(v.fs.root(), SECRET_FILE);
    expect(v.fs.stat(node)).toMatchObject({ mode: expect.any(Number), uid: 7, gid: 8, size: 2 });
    expect(v.fs.stat(node).mode & 0o7777).toBe(0o440);
    expect(dec.decode(v.fs.read(node, 0, 10))).toBe('zz');
    expect(() => withSecrets({ ...req, secrets: { files: [{ path: 'rel', data: enc.encode(''), mode: 0o400, uid: 0, gid: 0 }] } })).toThrow('must be an absolute file path');
    const plain = { ...req, secrets: undefined };
    expect(withSecrets(plain)).toBe(plain);
  });

  it('RUN --mount=type=secret keeps uid= and gid=', () => {
    expect(parseRunMount('type=secret,id=a,uid=1000,gid=50,mode=0440')).toMatchObject({ type: 'secret', id: 'a', uid: 1000, gid: 50, mode: 0o440 });
  });
});

/** Files under `dir` whose bytes (or gunzipped bytes) contain `needle`. */
function filesWith(dir: string, needle: string): string[] {
  const want = Buffer.from(needle);
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) { walk(p); continue; }
      if (!st.isFile()) continue;
      const data = readFileSync(p);
      let found = data.includes(want);
      if (!found && data[0] === 0x1f && data[1] === 0x8b) {
        try { found = gunzipSync(data).includes(want); } catch { /* not gzip after all */ }
      }
      if (found) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

const home = mkdtempSync(join(tmpdir(), 'skiff-secrets-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('build secrets (VM)', () => {
  it('reach the RUN process only: file with mode/owner, env; nowhere on disk or in inspect during the step; not in the image; not in the cache key', { timeout: 900_000 }, async () => {
    const e = await openEngine({ home });
    try {
      const FILE = 'sEcReT-fIlE-7c1e4b';
      const ENV = 'sEcReT-eNv-93ad02';
      const dockerfile = [
        'FROM skiff/busybox',
        // The default target, and one with env= + target, uid, gid and mode as BuildKit takes them.
        'RUN --mount=type=secret,id=tok --mount=type=secret,id=key,env=KEY,target=/opt/k,uid=1000,gid=50,mode=0440 ' +
          'stat -c "%n %a %u %g" /run/secrets/tok /opt/k && md5sum /run/secrets/tok /opt/k && echo "$KEY" | md5sum && echo "step-$((6*7))" && sleep 25 && echo done > /done',
        'CMD ["sh", "-c", "cat /done; ls /run/secrets /opt 2>&1 | head -3"]',
      ].join('\n');
      let text = '';
      let failed: unknown;
      const build = e.build({ context: { Dockerfile: dockerfile }, tags: ['sec:1'], secrets: { tok: FILE, key: ENV }, onProgress: (t) => { text += t; } });
      build.catch((err: unknown) => { failed = err; });
      // While the step sleeps: its container's record and everything on disk.
      const t0 = Date.now();
      while (!text.includes('step-42') && !failed && Date.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 200));
      expect(failed).toBeUndefined();
      expect(text).toContain('step-42');
      expect(text).toContain('/run/secrets/tok 400 0 0');
      expect(text).toContain('/opt/k 440 1000 50');
      // The process read both (md5sum prints the checksums, not the bytes: the output is logged on disk).
      expect(text).toContain(`${md5(FILE)}  /run/secrets/tok`);
      expect(text).toContain(`${md5(ENV)}  /opt/k`);
      expect(text).toContain(`${md5(`${ENV}\n`)}  -`);
      const steps = await e.listContainers({ all: true });
      expect(steps.length).toBe(1);
      // The record says 'running' once the runtime's start returned, which can be just after the
      // process's first output reached us (a loaded machine): wait for it, within the step's sleep.
      let rec = await e.inspectContainer({ id: steps[0]!.id });
      for (const t1 = Date.now(); rec.state === 'created' && Date.now() - t1 < 15_000;) {
        await new Promise((r) => setTimeout(r, 100));
        rec = await e.inspectContainer({ id: steps[0]!.id });
      }
      expect(rec.state).toBe('running');
      expect(JSON.stringify(rec)).not.toContain(FILE);
      expect(JSON.stringify(rec)).not.toContain(ENV);
      expect(filesWith(home, FILE)).toEqual([]);
      expect(filesWith(home, ENV)).toEqual([]);
      const r = await build;
      // The image: its layers (gunzipped blobs on disk), history and config.
      expect(filesWith(home, FILE)).toEqual([]);
      expect(filesWith(home, ENV)).toEqual([]);
      const hist = JSON.stringify(await e.history({ ref: 'sec:1' }));
      const config = JSON.stringify(await e.inspectImage({ ref: 'sec:1' }));
      for (const s of [FILE, ENV]) {
        expect(hist).not.toContain(s);
        expect(config).not.toContain(s);
      }
      // The mount stubs (/run/secrets/tok, /opt/k and /opt) are not in the step's layer.
      let out = '';
      const io = { onStdout: (d: Uint8Array) => { out += dec.decode(d); }, onStderr: (d: Uint8Array) => { out += dec.decode(d); } };
      await e.runContainer({ image: 'sec:1', run: { rm: true }, io });
      expect(out).toContain('done\n');
      expect(out).not.toContain('/opt/k');
      expect(out).not.toMatch(/^tok$/m);
      // Other secret values: the same cache key, so the step is not run again.
      let again = '';
      const r2 = await e.build({ context: { Dockerfile: dockerfile }, tags: ['sec:2'], secrets: { tok: 'other', key: 'values' }, onProgress: (t) => { again += t; } });
      expect(again).toMatch(/CACHED/);
      expect(again).not.toContain('step-42');
      expect(r2.id).toBe(r.id);
    } finally {
      await e.shutdown();
    }
  });
});

describe('build secrets: skiff build killed mid-step (VM, the real bin)', () => {
  it('leaves neither secret under $SKIFF_HOME', { timeout: 900_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-secrets-kill-'));
    try {
      const killedHome = join(dir, 'home');
      const FILE = 'kIlLeD-fIlE-5e2a90';
      const ENV = 'kIlLeD-eNv-0b7c31';
      mkdirSync(join(dir, 'ctx'));
      writeFileSync(join(dir, 'tok.txt'), FILE);
      writeFileSync(join(dir, 'ctx', 'Dockerfile'), 'FROM skiff/busybox\nRUN --mount=type=secret,id=tok --mount=type=secret,id=key,env=KEY sh -c \'md5sum /run/secrets/tok; echo "step-$((6*7))"; sleep 600\'\n');
      const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
      const child = spawn(process.execPath, [bin, 'build', '--progress=plain', '--secret', 'id=tok,src=tok.txt', '--secret', 'id=key,env=SKIFF_TEST_KEY', 'ctx'], {
        cwd: dir, env: { ...process.env, SKIFF_HOME: killedHome, SKIFF_TEST_KEY: ENV }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdout.resume();
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      const t0 = Date.now();
      while (!err.includes('step-42') && child.exitCode === null && Date.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 200));
      expect(err).toContain(`${md5(FILE)}  /run/secrets/tok`);
      child.kill('SIGKILL');
      await exited;
      // What the kill left: the step container's record and log, the content store.
      expect(readdirSync(join(killedHome, 'state', 'containers')).length).toBeGreaterThan(0);
      expect(filesWith(killedHome, FILE)).toEqual([]);
      expect(filesWith(killedHome, ENV)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
