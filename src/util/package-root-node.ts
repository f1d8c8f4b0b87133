/**
 * The package's root directory (the one holding package.json), found by walking up from this
 * module. Node-only files locate vm-images/ and the worker entries from it rather than by a fixed
 * number of `../`, because the same code runs from its sources (src/util/) and from the compiled
 * CLI (dist-node/, its chunks one or two levels down: scripts/build-node.mjs).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return (root = dir);
}
