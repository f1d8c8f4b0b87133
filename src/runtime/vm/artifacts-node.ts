/** Artifacts from a directory on disk; by default the repository's vm-images/dist. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../../errors.ts';
import { packageRoot } from '../../util/package-root-node.ts';
import { checkArtifact, parseManifest, type ArtifactManifest, type ArtifactSource } from './artifacts.ts';

export const DEFAULT_ARTIFACT_DIR = join(packageRoot(), 'vm-images', 'dist');

export function nodeArtifacts(dir: string = DEFAULT_ARTIFACT_DIR): ArtifactSource {
  let manifest: Promise<{ text: string; value: ArtifactManifest }> | null = null;
  const self: ArtifactSource = {
    manifest: () => (manifest ??= readFile(join(dir, 'manifest.json'), 'utf8').then(
      (text) => ({ text, value: parseManifest(text, dir) }),
      (err) => { throw new SkiffError('VM', `reading guest artifacts in ${dir}: ${(err as Error).message} (run npm run vm:build)`, { cause: err }); },
    )),
    async read(name) {
      const { value } = await self.manifest();
      const b = await readFile(join(dir, name));
      return checkArtifact(name, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, value, dir);
    },
  };
  return self;
}
