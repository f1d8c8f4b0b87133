/**
 * `skiff cp` (the real bin over a temporary $SKIFF_HOME, a created container: no VM needed) with
 * Docker's placement rules both ways, `-` for a tar on STDIN/STDOUT, and the host side's guard: an
 * archive cannot write through a symlink or climb out of the destination.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, tarEntry, writeTar } from '../../src/archive/index.ts';
import { copyPlan } from '../../src/cli/commands/cp.ts';
import { extractToHost } from '../../src/cli/host-copy.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
let dir: string;

function skiff(args: string[], input?: Uint8Array): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: join(dir, 'home') }, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() });
    });
    child.stdin!.end(input);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-cp-'));
  mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'src', 'a.txt'), 'one\n');
  writeFileSync(join(dir, 'src', 'sub', 'b.txt'), 'two\n');
  symlinkSync('a.txt', join(dir, 'src', 'link'));
  expect((await skiff(['create', '--name', 'c1', 'skiff/busybox', 'true'])).code).toBe(0);
}, 60_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('skiff cp', () => {
  it('out of a container: a file to a new name, a directory to a new path, contents with /.', async () => {
    const r = await skiff(['cp', 'c1:/etc/passwd', join(dir, 'passwd')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^Successfully copied \d+(\.\d+)?k?B to /);
    expect(readFileSync(join(dir, 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    expect((await skiff(['cp', 'c1:/etc', join(dir, 'etc-copy')])).code).toBe(0);
    expect(readFileSync(join(dir, 'etc-copy', 'passwd'), 'utf8')).toMatch(/^root:/);
    // Into an existing directory: it keeps its name.
    mkdirSync(join(dir, 'into'));
    expect((await skiff(['cp', 'c1:/etc', join(dir, 'into')])).code).toBe(0);
    expect(existsSync(join(dir, 'into', 'etc', 'passwd'))).toBe(true);
    const missing = await skiff(['cp', 'c1:/nosuch', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Could not find the file /nosuch in container');
  }, 60_000);

  it('into a container and back: tree, symlink and modes kept; a directory onto a file refused; - both ways', async () => {
    expect((await skiff(['cp', join(dir, 'src'), 'c1:/dst'])).code).toBe(0);
    expect((await skiff(['cp', 'c1:/dst/.', join(dir, 'back')])).code).toBe(0);
    expect(readdirSync(join(dir, 'back')).sort()).toEqual(['a.txt', 'link', 'sub']);
    expect(readlinkSync(join(dir, 'back', 'link'))).toBe('a.txt');
    expect(readFileSync(join(dir, 'back', 'sub', 'b.txt'), 'utf8')).toBe('two\n');
    expect((await skiff(['cp', join(dir, 'src', 'a.txt'), 'c1:/renamed.txt'])).code).toBe(0);
    const out = await skiff(['cp', 'c1:/renamed.txt', '-']);
    expect(readTar(new Uint8Array(out.stdout)).map((e) => [e.header.name, new TextDecoder().decode(e.data)])).toEqual([['renamed.txt', 'one\n']]);
    const onFile = await skiff(['cp', join(dir, 'src'), 'c1:/renamed.txt']);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toContain('cannot copy a directory to a file');
    const tar = writeTar([tarEntry({ name: 'piped/', type: 'directory' }), tarEntry({ name: 'piped/p.txt' }, 'from stdin\n')]);
    expect((await skiff(['cp', '-', 'c1:/tmp'], tar)).code).toBe(0);
    const diff = (await skiff(['diff', 'c1'])).stdout.toString();
    expect(diff).toContain('A /dst/sub/b.txt');
    expect(diff).toContain('A /tmp/piped/p.txt');
  }, 60_000);
});

describe('skiff cp through the container\'s mounts', () => {
  it('/etc/hostname is the container\'s; a volume and a bind are read and written, not the layer under them; :ro refuses', async () => {
    const host = join(dir, 'bound');
    mkdirSync(host);
    writeFileSync(join(host, 'h.txt'), 'from the host\n');
    // Inside the bind, a symlink climbing out resolves in the container (its /etc), never on the host.
    symlinkSync('../../../../../../../../etc', join(host, 'up'));
    const made = await skiff(['create', '--name', 'm1', '--hostname', 'myhost', '-v', 'cpvol:/data', '-v', 'cpro:/ro:ro', '-v', `${host}:/bind`, 'skiff/busybox', 'true']);
    expect(made.code, made.stderr).toBe(0);
    expect((await skiff(['cp', 'm1:/etc/hostname', join(dir, 'hostname')])).code).toBe(0);
    expect(readFileSync(join(dir, 'hostname'), 'utf8')).toBe('myhost\n');

    expect((await skiff(['cp', join(dir, 'src', 'a.txt'), 'm1:/data/'])).code).toBe(0);
    // Another container of the volume sees the file: it is in the volume.
    expect((await skiff(['create', '--name', 'm2', '-v', 'cpvol:/mnt', 'skiff/busybox', 'true'])).code).toBe(0);
    const other = await skiff(['cp', 'm2:/mnt/a.txt', '-']);
    expect(other.code, other.stderr).toBe(0);
    expect(readTar(new Uint8Array(other.stdout)).map((e) => new TextDecoder().decode(e.data))).toEqual(['one\n']);
    expect((await skiff(['cp', 'm1:/data/a.txt', join(dir, 'from-volume')])).code).toBe(0);
    expect(readFileSync(join(dir, 'from-volume'), 'utf8')).toBe('one\n');

    expect((await skiff(['cp', 'm1:/bind/h.txt', join(dir, 'from-bind')])).code).toBe(0);
    expect(readFileSync(join(dir, 'from-bind'), 'utf8')).toBe('from the host\n');
    expect((await skiff(['cp', join(dir, 'src', 'sub'), 'm1:/bind/'])).code).toBe(0);
    expect(readFileSync(join(host, 'sub', 'b.txt'), 'utf8')).toBe('two\n');
    expect((await skiff(['cp', 'm1:/bind/up/hostname', join(dir, 'through-link')])).code).toBe(0);
    expect(readFileSync(join(dir, 'through-link'), 'utf8')).toBe('myhost\n');

    const ro = await skiff(['cp', join(dir, 'src', 'a.txt'), 'm1:/ro/']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('mounted volume is marked read-only');
    // Nothing of it landed in the writable layer.
    const diff = (await skiff(['diff', 'm1'])).stdout.toString();
    expect(diff).not.toMatch(/\/(data|bind|ro)\//);
  }, 120_000);
});

describe('cp placement rules and the host-side guard', () => {
  it('copyPlan follows docker cp\'s table', () => {
    expect(copyPlan({ path: '/a/f', dir: false }, { path: 'x/new', exists: false, dir: false })).toEqual({ into: 'x', rename: 'new' });
    // A bare name is in the current directory (`docker cp c:/etc/passwd out.txt`).
    expect(copyPlan({ path: '/a/f', dir: false }, { path: 'new', exists: false, dir: false })).toEqual({ into: '.', rename: 'new' });
    expect(copyPlan({ path: '/a/f', dir: false }, { path: '/new', exists: false, dir: false })).toEqual({ into: '/', rename: 'new' });
    expect(copyPlan({ path: '/a/f', dir: false }, { path: 'x', exists: true, dir: true })).toEqual({ into: 'x' });
    expect(() => copyPlan({ path: '/a/f', dir: false }, { path: 'nodir/', exists: false, dir: false })).toThrow(/does not exist/);
    expect(copyPlan({ path: '/a/d/.', dir: true }, { path: 'x', exists: true, dir: true })).toEqual({ into: 'x', rename: '.' });
    expect(() => copyPlan({ path: '/a/d', dir: true }, { path: 'f', exists: true, dir: false })).toThrow(/cannot copy a directory to a file/);
  });

  it('an archive cannot write through its own symlink, nor climb out with ..', async () => {
    const dest = join(dir, 'guard');
    const outside = join(dir, 'outside');
    mkdirSync(dest);
    mkdirSync(outside);
    const evil = writeTar([tarEntry({ name: 'd/', type: 'directory' }), tarEntry({ name: 'd/evil', type: 'symlink', linkname: outside }), tarEntry({ name: 'd/evil/x' }, 'pwned')]);
    await expect(extractToHost(join(dest, 'd'), evil, { name: 'd', dir: true, path: '/d' })).rejects.toThrow(/refusing to write through/);
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(join(dest, 'd', 'evil')).isSymbolicLink()).toBe(true);
    const climb = writeTar([tarEntry({ name: 'f' }, 'ok'), tarEntry({ name: 'f/../../escaped' }, 'no')]);
    await expect(extractToHost(join(dest, 'f2'), climb, { name: 'f', dir: false, path: '/f' })).rejects.toThrow(/climbs out/);
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
  });
});
