// vm-images/images/oci_pack.py, the producer of the bundled archives: same input
// gives the same bytes, tricky entries (hard links, symlinks, long and UTF-8
// names, modes) survive, skopeo reads the result, bad input gets a clear error.
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.ts';
import { EPOCH, REPO, blobPath, cleanup, extractArchive, listTar, readJson, tempDir } from './helpers.ts';
import { requireTool } from '../helpers/peers.ts';

const PACK = join(REPO, 'vm-images', 'images', 'oci_pack.py');
afterAll(cleanup);

function pack(spec: object, out: string, env: Record<string, string | undefined> = { SOURCE_DATE_EPOCH: String(EPOCH) }) {
  const dir = tempDir('spec');
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const childEnv = { ...process.env, ...env };
  if (env.SOURCE_DATE_EPOCH === undefined) delete childEnv.SOURCE_DATE_EPOCH;
  return spawnSync(requireTool('python3', 'python3'), [PACK, '--spec', join(dir, 'spec.json'), '--out', out], { encoding: 'utf8', env: childEnv });
}

describe('oci_pack.py', () => {
  let tree: string;
  let spec: object;
  const longName = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}.txt`;
  beforeAll(() => {
    tree = tempDir('tree');
    mkdirSync(join(tree, 'bin'));
    writeFileSync(join(tree, 'bin', 'prog'), '#!/bin/sh\necho prog\n');
    chmodSync(join(tree, 'bin', 'prog'), 0o4755);
    linkSync(join(tree, 'bin', 'prog'), join(tree, 'bin', 'prog-hard'));
    symlinkSync('prog', join(tree, 'bin', 'prog-sym'));
    mkdirSync(join(tree, longName, '..'), { recursive: true });
    writeFileSync(join(tree, longName), 'deep');
    writeFileSync(join(tree, 'grüße.txt'), 'utf-8');
    mkdirSync(join(tree, 'tmp'));
    chmodSync(join(tree, 'tmp'), 0o1777);
    spec = {
      name: 'skiff/test:1', os: 'linux', architecture: '386', config: { Cmd: ['prog'] },
      layers: [{ dir: tree, comment: 'test layer', owners: { tmp: [5, 6] } }],
    };
  });

  it('writes the same bytes twice and reports them in its JSON line', () => {
    const out = tempDir('out');
    const a = pack(spec, join(out, 'a.tar'));
    const b = pack(spec, join(out, 'b.tar'));
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(readFileSync(join(out, 'a.tar')).equals(readFileSync(join(out, 'b.tar')))).toBe(true);
    const row = JSON.parse(a.stdout) as { name: string; file: string; size: number; platform: object };
    expect(row).toMatchObject({ name: 'skiff/test:1', file: 'a.tar', platform: { os: 'linux', architecture: '386' } });
    expect(row.size).toBe(readFileSync(join(out, 'a.tar')).length);
  });

  it('keeps hard links, symlinks, long and UTF-8 names, special modes and owners', () => {
    const out = join(tempDir('out'), 'img.tar');
    expect(pack(spec, out).status).toBe(0);
    const layout = extractArchive(out);
    const index = readJson<{ manifests: { digest: string }[] }>(join(layout, 'index.json'));
    const manifest = readJson<{ layers: { digest: string }[] }>(blobPath(layout, index.manifests[0]!.digest));
    const members = new Map(listTar(blobPath(layout, manifest.layers[0]!.digest)).map((m) => [m.name, m]));
    expect(members.get('bin/prog')).toMatchObject({ type: '0', mode: 0o4755, size: 20 });
    expect(members.get('bin/prog-hard')).toMatchObject({ type: '1', linkname: 'bin/prog', size: 0 });
    expect(members.get('bin/prog-sym')).toMatchObject({ type: '2', linkname: 'prog' });
    expect(members.get(longName)).toMatchObject({ type: '0', size: 4 });
    expect(members.get('grüße.txt')).toMatchObject({ type: '0', size: 5 });
    expect(members.get('tmp')).toMatchObject({ type: '5', mode: 0o1777, uid: 5, gid: 6 });
    const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${out}`])) as { Architecture: string; Created: string };
    expect(info).toMatchObject({ Architecture: '386', Created: '2026-01-01T00:00:00Z' });
  });

  it('refuses to run without SOURCE_DATE_EPOCH', () => {
    const res = pack(spec, join(tempDir('out'), 'x.tar'), { SOURCE_DATE_EPOCH: undefined });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('SOURCE_DATE_EPOCH must be set');
  });

  it('names a missing layer directory and a missing spec key', () => {
    const missing = pack({ ...spec, layers: [{ dir: '/nonexistent/layer' }] }, join(tempDir('out'), 'x.tar'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("layer directory '/nonexistent/layer' does not exist");
    const noOs = pack({ name: 'a:b', architecture: '386', layers: [] }, join(tempDir('out'), 'x.tar'));
    expect(noOs.status).not.toBe(0);
    expect(noOs.stderr).toMatch(/spec\.json: missing required key 'os'/);
  });
});
