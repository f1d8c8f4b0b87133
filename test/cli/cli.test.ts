/**
 * The real `skiff` bin (bin/skiff.js, no build step) in child processes over a temporary
 * $SKIFF_HOME: Docker's commands, output shapes, exit codes; two loads at once.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../src/archive/index.ts';
import { buildImage, dockerLegacyArchive, ociArchive } from '../engine/fixtures/images.ts';
import { requireTool } from '../helpers/peers.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'skiff.js');
const execFileP = promisify(execFile);
let dir: string;
let home: string;

interface Result { code: number; stdout: string; stderr: string }

async function skiff(...args: string[]): Promise<Result> {
  try {
    const r = await execFileP(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const v1 = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: '#!sh', mode: 0o755 }, { name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'v1\n' }], gzip: true }], cmd: ['sh'] });
const v2 = buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: '#!sh', mode: 0o755 }], gzip: true }, { files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'v2\n' }] }], cmd: ['sh'] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-cli-'));
  home = join(dir, 'home');
  writeFileSync(join(dir, 'v1.tar'), dockerLegacyArchive([{ image: v1, tags: ['app:latest'] }]));
  writeFileSync(join(dir, 'v2.tar'), ociArchive([{ image: v2, tags: ['docker.io/library/app:latest'] }]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const truncate15 = (s: string): string => (s.length > 15 ? `${s.slice(0, 14)}…` : s);

describe('skiff CLI', () => {
  it('load, images (table and json), inspect, history', async () => {
    const load = await skiff('load', '-i', 'v1.tar');
    expect(load).toMatchObject({ code: 0, stdout: 'Loaded image: app:latest\n' });
    const table = await skiff('images');
    expect(table.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+PLATFORM\s+SIZE$/);
    expect(table.stdout).toContain(`app          latest   ${v1.configDigest.slice(7, 19)}`);
    const json = (await skiff('images', '--format', 'json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json).toEqual([expect.objectContaining({ Repository: 'app', Tag: 'latest', ID: v1.configDigest.slice(7, 19), Platform: 'linux/386' })]);
    const inspect = JSON.parse((await skiff('image', 'inspect', 'app')).stdout);
    expect(inspect[0]).toMatchObject({ Id: v1.configDigest, RepoTags: ['app:latest'], Os: 'linux', Architecture: '386', RootFS: { Layers: [v1.layers[0]!.diffId] } });
    expect((await skiff('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).stdout).toBe(`app:latest ${v1.configDigest.slice(7, 19)}\n`);
    expect((await skiff('image', 'inspect', '--format', '{{.Id}} {{json .Config.Cmd}}', 'app')).stdout).toBe(`${v1.configDigest} ["sh"]\n`);
    expect((await skiff('images', '-f', 'reference=ap*', '--format', '{{.Repository}}')).stdout).toBe('app\n');
    // Go templates as Docker users write them; docker/cli's table headers (IMAGE ID, not ID).
    expect((await skiff('images', '--format', 'table {{.Repository}}\\t{{.ID}}\\t{{.Tag}}')).stdout).toBe(`REPOSITORY   IMAGE ID       TAG\napp          ${v1.configDigest.slice(7, 19)}   latest\n`);
    expect((await skiff('image', 'inspect', '-f', '{{with .Config}}{{join .Cmd " "}}{{end}} {{if eq .Os "linux"}}{{.Architecture | printf "%q"}}{{end}}', 'app')).stdout).toBe('sh "386"\n');
    expect((await skiff('images', '-f', 'dangling=true', '-q')).stdout).toBe('');
    expect(await skiff('images', '-f', 'colour=red')).toMatchObject({ code: 1, stderr: expect.stringContaining("invalid filter 'colour'") });
    const hist = await skiff('history', 'app');
    expect(hist.stdout).toMatch(/IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    expect(hist.stdout).toContain('layer 0');
  });

  it('errors: Error: ... with exit 1; usage errors exit 125', async () => {
    expect(await skiff('rmi', 'nope')).toMatchObject({ code: 1, stderr: 'Error: No such image: nope\n' });
    expect(await skiff('image', 'inspect', 'nope:1')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^Error: No such image: nope:1 \(not pulled: pull it first; bundled images: .*skiff\/busybox:latest/) });
    const bad = await skiff('images', '--bogus');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe("skiff: unknown flag: --bogus\nSee 'skiff images --help'.\n");
    expect((await skiff('frobnicate')).code).toBe(125);
    expect(await skiff('load', '-i', 'missing.tar')).toMatchObject({ code: 1, stderr: expect.stringContaining('missing.tar: no such file') });
    writeFileSync(join(dir, 'junk.tar'), 'not a tar at all'.repeat(100));
    const junk = await skiff('load', '-i', 'junk.tar');
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^Error: loading junk\.tar: /);
  });

  it('tag moves with history; image rollback goes back; rmi untags', async () => {
    expect((await skiff('load', '-i', 'v2.tar')).stdout).toBe('Loaded image: app:latest\n');
    expect((await skiff('images', '--format', 'json')).stdout).toContain(v2.configDigest.slice(7, 19));
    expect((await skiff('image', 'rollback', '--list', 'app')).stdout).toMatch(/^DIGEST\s+SINCE\s+CURRENT\nsha256:[0-9a-f]{64}\s+.* ago\s+\*\nsha256:[0-9a-f]{64}\s+.* ago\n$/);
    const rb = await skiff('image', 'rollback', 'app');
    expect(rb).toMatchObject({ code: 0, stdout: expect.stringContaining(`-> sha256:`) });
    expect(JSON.parse((await skiff('image', 'inspect', 'app')).stdout)[0].Id).toBe(v1.configDigest);
    expect((await skiff('tag', 'app', 'other/app:2')).code).toBe(0);
    expect((await skiff('rmi', 'other/app:2')).stdout).toBe('Untagged: other/app:2\n');
  });

  it('create, ps -a, export, rm; rmi refuses while used', async () => {
    const create = await skiff('create', '--name', 'web', '-e', 'X=1', 'app', 'sh', '-c', 'echo hi');
    expect(create.code).toBe(0);
    const id = create.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await skiff('ps', '-a');
    expect(ps.stdout).toMatch(new RegExp(`${id.slice(0, 12)}\\s+app\\s+"sh -c echo hi"\\s+.*Created\\s+web`));
    expect((await skiff('ps')).stdout.trim().split('\n').length).toBe(1);
    // Config.Env as Docker's daemon merges it: -e first, then the image entries it did not set.
    expect((await skiff('inspect', '-f', '{{.Name}} {{.State.Status}} {{json .Config.Cmd}} {{.Config.Env}}', 'web')).stdout)
      .toBe('/web created ["sh","-c","echo hi"] [X=1 PATH=/usr/bin:/bin]\n');
    expect((await skiff('inspect', '-f', '{{range $i, $a := .Config.Cmd}}{{if $i}},{{end}}{{$a}}{{end}} {{len .Config.Env}} {{index .Config.Env 0}}', 'web')).stdout).toBe('sh,-c,echo hi 2 X=1\n');
    expect((await skiff('ps', '-a', '--format', '{{if eq .State "created"}}{{.Names | upper}}{{else}}up{{end}} {{.Command}} {{slice .CreatedAt 20}}')).stdout).toBe('WEB "sh -c echo hi" +0000 UTC\n');
    expect((await skiff('ps', '-a', '--format', '{{.Names}} [{{.Label "none"}}] [{{.Labels}}]')).stdout).toBe('web [] []\n');
    expect((await skiff('ps', '-a', '--format', 'table {{.ID}}\\t{{.Names}}')).stdout).toBe(`CONTAINER ID   NAMES\n${id.slice(0, 12)}   web\n`);
    expect(await skiff('ps', '--format', '{{if .Names}}')).toMatchObject({ code: 1, stdout: '', stderr: 'Error: template parsing error: template: :1: unexpected EOF\n' });
    const refused = await skiff('rmi', 'app');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`container ${id.slice(0, 12)} is using its referenced image`);
    const commit = await skiff('commit', '-m', 'snapshot', '-c', 'CMD ["echo","committed"]', 'web', 'app:snap');
    expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(JSON.parse((await skiff('image', 'inspect', 'app:snap')).stdout)[0].Config.Cmd).toEqual(['echo', 'committed']);
    expect((await skiff('rmi', 'app:snap')).stdout).toMatch(/^Untagged: app:snap\nDeleted: sha256:/);
    expect((await skiff('export', 'web', '-o', 'web.tar')).code).toBe(0);
    const names = readTar(new Uint8Array(readFileSync(join(dir, 'web.tar')))).map((e) => e.header.name.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(names).toEqual(expect.arrayContaining(['bin/sh', 'etc/motd']));
    expect((await skiff('diff', 'web')).stdout).toBe('');
    // export | import round trip, then container prune
    const imported = await skiff('import', '-c', 'CMD ["sh"]', 'web.tar', 'fromweb:1');
    expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(JSON.parse((await skiff('image', 'inspect', 'fromweb:1')).stdout)[0]).toMatchObject({ Os: 'linux', Architecture: '386', Config: { Cmd: ['sh'] } });
    expect((await skiff('rmi', 'fromweb:1')).code).toBe(0);
    expect(await skiff('rm', 'web')).toMatchObject({ code: 0, stdout: 'web\n' });
    await skiff('create', '--name', 'tmp1', 'app');
    expect((await skiff('container', 'prune', '-f')).stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
    expect((await skiff('ps', '-a', '-q')).stdout.trim()).toBe('');
  });

  it('save -o writes an archive skopeo reads; system df; image prune', async () => {
    expect((await skiff('save', '-o', 'app.tar', 'app')).code).toBe(0);
    const inspect = JSON.parse(execFileSync(requireTool('skopeo', 'skopeo'), ['inspect', `docker-archive:${join(dir, 'app.tar')}`], { encoding: 'utf8' }));
    expect(inspect.Layers).toEqual(v1.layers.map((l) => l.diffId));
    expect((await skiff('save', '--format', 'oci', '-o', 'app-oci.tar', 'app')).code).toBe(0);
    const raw = execFileSync(requireTool('skopeo', 'skopeo'), ['inspect', '--raw', `oci-archive:${join(dir, 'app-oci.tar')}`], { encoding: 'utf8' });
    expect(JSON.parse(raw).config.digest).toBe(v1.configDigest);
    const df = await skiff('system', 'df');
    expect(df.stdout).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+2\s+0\s+/);
    expect((await skiff('image', 'prune', '-f')).stdout).toMatch(/Total reclaimed space: /);
    const prune = await skiff('system', 'prune', '-a', '-f');
    expect(prune.stdout).toMatch(/^Deleted Images:\nuntagged: app:latest\n(deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: [\d.]+k?B\n$/);
    expect((await skiff('images', '-q')).stdout).toBe('');
  });

  it('image metadata and echoed input reach the terminal with control characters escaped', async () => {
    // ESC ] 0 ; ... BEL retitles the window, ESC [ 2 J clears the screen, U+009B is a one-byte CSI.
    const evil = '\x1b]0;pwned\x07\x1b[2Jmsg\u009b';
    expect((await skiff('import', '-m', evil, '-c', 'CMD ["sh","-c","\\u001b[31mred"]', 'web.tar', 'evil:1')).code).toBe(0);
    const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
    const hist = await skiff('history', 'evil:1');
    expect(hist.stdout).not.toMatch(raw);
    expect(hist.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2Jmsg\\x9b');
    expect((await skiff('history', '--no-trunc', '--format', '{{.Comment}}', 'evil:1')).stdout).toBe('\\x1b]0;pwned\\x07\\x1b[2Jmsg\\x9b\n');
    await skiff('create', '--name', 'evil', 'evil:1');
    const ps = await skiff('ps', '-a');
    expect(ps.stdout).not.toMatch(raw);
    expect(ps.stdout).toContain('"sh -c \\u001b[31mred"');
    const inspect = (await skiff('image', 'inspect', 'evil:1')).stdout;
    expect(inspect).not.toMatch(raw);
    // Still JSON that parses back to the image's own bytes.
    expect(JSON.parse(inspect)[0].Config.Cmd).toEqual(['sh', '-c', '\x1b[31mred']);
    const err = await skiff('rmi', '\x1b[2Jnope');
    expect(err.code).toBe(1);
    expect(err.stderr).not.toMatch(raw);
    expect(err.stderr).toContain('\\x1b[2Jnope');
    expect((await skiff('rm', 'evil')).code).toBe(0);
    expect((await skiff('rmi', 'evil:1')).code).toBe(0);
  });

  it('volume create, ls, inspect, rm', async () => {
    expect((await skiff('volume', 'create', '--label', 'a=b', 'vol1')).stdout).toBe('vol1\n');
    expect((await skiff('volume', 'ls')).stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+vol1\n$/);
    expect((await skiff('volume', 'ls', '--format', 'table {{.Name}}\\t{{.Driver}}\\t{{.Label "a"}}:{{.Labels}}')).stdout).toBe('VOLUME NAME   DRIVER    LABEL:LABELS\nvol1          local     b:a=b\n');
    expect((await skiff('volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}}', 'vol1')).stdout).toBe('vol1 local map[a:b]\n');
    expect((await skiff('volume', 'rm', 'vol1')).stdout).toBe('vol1\n');
    expect(await skiff('volume', 'rm', 'vol1')).toMatchObject({ code: 1, stderr: 'Error: get vol1: no such volume\n' });
  });

  it("ps rows carry docker/cli's .Mounts, .Networks and .Size; ps -s adds the SIZE column", async () => {
    expect((await skiff('load', '-i', 'v1.tar')).code).toBe(0);
    const imageSize = (await skiff('images', '--format', '{{.Size}}', 'app')).stdout.trim();
    expect(imageSize).toMatch(/^[\d.]+k?B$/);
    const host = join(dir, 'a-long-host-directory');
    mkdirSync(host);
    expect((await skiff('create', '--name', 'mnt1', '-v', 'a-volume-with-a-long-name:/data', '-v', `${host}:/mnt`, 'app', 'sh')).code).toBe(0);
    expect((await skiff('create', '--name', 'mnt2', '--network', 'none', 'app', 'sh')).code).toBe(0);
    const f = ['--filter', 'name=mnt', '--format', '{{.Names}}|{{.Mounts}}|{{.Networks}}|{{.Size}}'];
    // Names and sources cut to 15 columns as docker/cli's Ellipsis cuts them; --no-trunc shows them whole.
    expect((await skiff('ps', '-a', ...f)).stdout).toBe([
      `mnt2||none|0B (virtual ${imageSize})`,
      `mnt1|a-volume-with-…,${truncate15(host)}|bridge|0B (virtual ${imageSize})`, ''].join('\n'));
    expect((await skiff('ps', '-a', '--no-trunc', '--filter', 'name=mnt1', '--format', '{{.Mounts}}')).stdout).toBe(`a-volume-with-a-long-name,${host}\n`);
    const table = (await skiff('ps', '-a', '-s', '--filter', 'name=mnt2')).stdout.split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE$/);
    expect(table[1]).toMatch(new RegExp(`\\smnt2\\s+0B \\(virtual ${imageSize.replace('.', '\\.')}\\)$`));
    expect((await skiff('ps', '-a', '--filter', 'name=mnt2')).stdout).not.toContain('SIZE');
    expect((await skiff('rm', 'mnt1', 'mnt2')).code).toBe(0);
    expect((await skiff('volume', 'rm', 'a-volume-with-a-long-name')).code).toBe(0);
  });

  it('demo (npm start) tours the bundled busybox image and cleans up after itself', async () => {
    const demo = await skiff('demo');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/\$ skiff images skiff\/busybox\nREPOSITORY\s+TAG\s+IMAGE ID\s+PLATFORM\s+SIZE\nskiff\/busybox\s+latest\s+[0-9a-f]{12}\s+linux\/386/);
    expect(demo.stdout).toContain('C /etc\nA /etc/hello-from-skiff\n');
    expect(demo.stdout).toMatch(/Untagged: docker.io\/skiff\/demo:hello\nDeleted: sha256:/);
    expect((await skiff('ps', '-a', '-q')).stdout).toBe('');
    expect((await skiff('rmi', 'skiff/busybox')).code).toBe(0);
  });

  it('logs prints what the last run wrote, with -t timestamps and --tail', async () => {
    const { openEngine } = await import('../../src/node.ts');
    const te = new TextEncoder();
    // A runtime that writes two lines to stdout and one to stderr, then exits.
    const runtime = {
      name: 'vm' as const,
      async start(req: { io: { onStdout(d: Uint8Array): void; onStderr(d: Uint8Array): void } }) {
        req.io.onStdout(te.encode('one\ntwo\n'));
        req.io.onStderr(te.encode('oops\n'));
        const s = Promise.resolve({ exitCode: 0, oomKilled: false });
        return { writeStdin() {}, closeStdin() {}, kill: async () => {}, resize: async () => {}, wait: () => s };
      },
      async exec(): Promise<never> { throw new Error('no exec'); },
      async release() {},
      async shutdown() {},
    };
    const e = await openEngine({ home, bundled: false, runtimes: { vm: () => runtime } });
    await skiff('load', '-i', 'v1.tar');
    const r = await e.runContainer({ image: 'app', name: 'logged' });
    expect(r.exit.exitCode).toBe(0);
    expect(await skiff('logs', 'logged')).toMatchObject({ code: 0, stdout: 'one\ntwo\n', stderr: 'oops\n' });
    // --tail counts lines of the one log both streams go to, as Docker's json-file does.
    expect(await skiff('logs', '--tail', '1', 'logged')).toMatchObject({ stdout: '', stderr: 'oops\n' });
    expect(await skiff('logs', '--tail', '2', 'logged')).toMatchObject({ stdout: 'two\n', stderr: 'oops\n' });
    expect((await skiff('logs', '-t', 'logged')).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z one\n\d{4}-\d\d-\d\dT[\d:.]+Z two\n$/);
    expect((await skiff('rm', 'logged')).code).toBe(0);
  });

  it('load reads STDIN when -i is not given', async () => {
    const r = await new Promise<Result>((resolve) => {
      const child = execFile(process.execPath, [bin, 'load'], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir }, (err, stdout, stderr) =>
        resolve({ code: err ? (err as { code: number }).code : 0, stdout, stderr }));
      child.stdin!.end(readFileSync(join(dir, 'v2.tar')));
    });
    expect(r).toMatchObject({ code: 0, stdout: 'Loaded image: app:latest\n' });
  });

  it('two loads at once, into one store, both land', async () => {
    const [a, b] = await Promise.all([skiff('load', '-i', 'v1.tar'), skiff('load', '-i', 'v2.tar')]);
    expect(a.code + b.code).toBe(0);
    await skiff('tag', v1.configDigest.slice(7, 19), 'one:1');
    await skiff('tag', v2.configDigest.slice(7, 19), 'two:1');
    const rows = (await skiff('images', '--format', 'json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => `${r.Repository}:${r.Tag}`).sort()).toEqual(['app:latest', 'one:1', 'two:1']);
  });
});
