/** `skiff build` and `skiff builder prune` through the real bin over a temporary $SKIFF_HOME. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, tarEntry, writeTar } from '../../src/archive/index.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const dir = mkdtempSync(join(tmpdir(), 'skiff-build-cli-'));
const home = join(dir, 'home');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function skiff(args: string[], input?: string | Uint8Array): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('skiff build', { timeout: 300_000 }, () => {
  it('a directory context: plain progress on stderr, CACHED on a rebuild, -q and --iidfile print the ID, history', () => {
    const ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'sub'), { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM skiff/busybox\nCOPY sub/ /app/\nENV MODE=test\nCMD ["cat", "/app/f"]\n');
    writeFileSync(join(ctx, 'sub', 'f'), 'file\n');
    const first = skiff(['build', '-t', 'app:1', '--label', 'a=b', 'ctx']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toMatch(/#\d \[1\/2\] FROM skiff\/busybox\n#\d DONE \d+\.\ds\n\n#\d \[2\/2\] COPY sub\/ \/app\/\n#\d DONE/);
    expect(first.stderr).toContain('naming to docker.io/library/app:1 done');
    const again = skiff(['build', '-t', 'app:2', '--label', 'a=b', '--iidfile', 'iid.txt', 'ctx']);
    expect(again.stderr).toMatch(/\[2\/2\] COPY sub\/ \/app\/\n#\d CACHED/);
    const quiet = skiff(['build', '-q', '--label', 'a=b', 'ctx']);
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(quiet.stderr).toBe('');
    expect(readFileSync(join(dir, 'iid.txt'), 'utf8')).toBe(quiet.stdout.trim());
    const hist = skiff(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1']);
    expect(hist.stdout.split('\n').slice(0, 3)).toEqual(['CMD ["cat" "/app/f"]', 'ENV MODE=test', 'COPY sub/ /app/ # buildkit']);
    const df = skiff(['system', 'df']);
    expect(df.stdout).toMatch(/Build Cache\s+3\s+0\s/);
    const exported = skiff(['build', '-q', '--label', 'a=b', '-o', 'type=tar,dest=rootfs.tar', '-o', 'type=oci,dest=oci.tar', 'ctx']);
    expect(exported.code).toBe(0);
    const names = readTar(new Uint8Array(readFileSync(join(dir, 'rootfs.tar')))).map((t) => t.header.name);
    expect(names).toEqual(expect.arrayContaining(['app/f', 'bin/busybox']));
    expect(readTar(new Uint8Array(readFileSync(join(dir, 'oci.tar')))).map((t) => t.header.name)).toContain('index.json');
    expect(skiff(['build', '-o', 'out-dir', 'ctx'])).toMatchObject({ code: 125, stderr: expect.stringContaining('local directory outputs are not supported') });
    const prune = skiff(['builder', 'prune', '-f']);
    expect(prune).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Deleted build cache objects:\n[0-9a-f]{25}\n[0-9a-f]{25}\n[0-9a-f]{25}\n\nTotal reclaimed space: /) });
  });

  it('a tar on stdin with -f from the host; errors exit 1 with the line', () => {
    writeFileSync(join(dir, 'Other.dockerfile'), 'FROM scratch\nCOPY x /x\n');
    const tar = writeTar([tarEntry({ name: 'x' }, 'x')]);
    const r = skiff(['build', '-q', '-f', 'Other.dockerfile', '-'], tar);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:/);
    const bad = skiff(['build', '-f', 'Other.dockerfile', '-'], writeTar([tarEntry({ name: 'y' }, 'y')]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Error: Other.dockerfile:2: COPY: "\/x": not found/);
    expect(skiff(['build', 'nowhere']).stderr).toContain('unable to prepare context: path "nowhere" not found');
    expect(skiff(['build']).code).toBe(125);
  });

  it('--secret: read from a host file or the environment by id; malformed or unset ones are errors', () => {
    writeFileSync(join(dir, 'secret.txt'), 's3cret');
    writeFileSync(join(dir, 'Plain.dockerfile'), 'FROM scratch\nLABEL ok=1\n');
    const tar = writeTar([tarEntry({ name: 'x' }, 'x')]);
    expect(skiff(['build', '-q', '-f', 'Plain.dockerfile', '--secret', 'id=tok,src=secret.txt', '--secret', 'id=e,env=HOME', '-'], tar).code).toBe(0);
    expect(skiff(['build', '-q', '-f', 'Plain.dockerfile', '--secret', 'bogus', '-'], tar)).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid secret "bogus"') });
    expect(skiff(['build', '-q', '-f', 'Plain.dockerfile', '--secret', 'id=e,env=SKIFF_NO_SUCH_VAR', '-'], tar).stderr).toContain('secret e: environment variable SKIFF_NO_SUCH_VAR is not set');
  });
});
