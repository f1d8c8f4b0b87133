// `npm run images:build` is reproducible: rebuilding from the same Debian
// packages into a scratch directory gives byte-identical archives. Uses the
// package cache of a previous build when there is one, else downloads.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST, REPO, cleanup, readManifest, tempDir, type ManifestEntry } from './helpers.ts';

afterAll(cleanup);

describe('vm-images/images/build.sh', () => {
  it('rebuilds the committed archives byte for byte', () => {
    const work = tempDir('images-work');
    const dist = tempDir('images-dist');
    const cache = join(REPO, 'vm-images', 'build', 'images');
    const cached = ['debs', 'src'].every((d) => existsSync(join(cache, d)) && readdirSync(join(cache, d)).length > 0);
    if (cached) for (const d of ['debs', 'src']) cpSync(join(cache, d), join(work, d), { recursive: true });
    const res = spawnSync('bash', [join(REPO, 'vm-images', 'images', 'build.sh')], {
      encoding: 'utf8',
      env: { ...process.env, SKIFF_IMAGES_WORK: work, SKIFF_IMAGES_DIST: dist, SKIFF_IMAGES_OFFLINE: cached ? '1' : '' },
      timeout: 900_000,
    });
    expect(res.status, `build.sh failed:\n${res.stderr.slice(-3000)}`).toBe(0);
    const committedSources = readFileSync(join(DIST, 'sources.txt'), 'utf8');
    const rebuiltSources = readFileSync(join(dist, 'sources.txt'), 'utf8');
    expect(rebuiltSources, 'Debian now ships other package versions: run `npm run images:build` and commit dist/')
      .toBe(committedSources);
    const rebuilt = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as ManifestEntry[];
    expect(rebuilt).toEqual(readManifest());
    for (const row of rebuilt) {
      expect(readFileSync(join(dist, row.file)).equals(readFileSync(join(DIST, row.file))), row.file).toBe(true);
    }
  }, 900_000);
});
