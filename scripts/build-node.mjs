/**
 * The compiled CLI: `npm run build:node` (and npm's `prepare`, so a clone's `npm install` runs it)
 * bundles the Node entry points from src/ and workers/ into dist-node/ as plain JavaScript.
 * bin/skiff.js runs it when it matches the sources (`compiledEntry`); otherwise, in a checkout
 * being edited, it runs the sources through tsx. Started from dist-node a `skiff` process skips
 * tsx's loader and its per-file TypeScript transforms (~0.2 s of a `skiff version`, more under load).
 *
 * Dependencies stay external (loaded from node_modules as the sources load them); dynamic imports
 * stay lazy (code splitting), so a command that runs no container still never loads v86. All
 * modules land in one flat directory, which must sit inside the package (src/util/package-root-node.ts).
 * Plain JavaScript on purpose: it runs before anything can compile TypeScript.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist-node');
const INFO = 'build.json';

function filesUnder(dir, out = []) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (d.isDirectory()) filesUnder(join(dir, d.name), out);
    else out.push(join(dir, d.name));
  }
  return out;
}

/**
 * What the compiled files were made from: every file under src/ and workers/, and this script,
 * by path, size and mtime (a stat each, a few ms: bin/skiff.js checks it on every start).
 */
export function sourceKey(root = ROOT) {
  const files = [...filesUnder(join(root, 'src')), ...filesUnder(join(root, 'workers')), join(root, 'scripts', 'build-node.mjs')];
  const h = createHash('sha256');
  for (const f of files.sort()) {
    const st = statSync(f);
    h.update(`${relative(root, f)}:${st.size}:${st.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

/** The compiled CLI's module URL when `outDir` holds a build of the current sources, else null. */
export function compiledEntry({ root = ROOT, outDir = OUT_DIR } = {}) {
  let info;
  try {
    info = JSON.parse(readFileSync(join(outDir, INFO), 'utf8'));
  } catch {
    return null;
  }
  if (!info || info.key !== sourceKey(root) || !existsSync(join(outDir, 'cli.js'))) return null;
  return pathToFileURL(join(outDir, 'cli.js')).href;
}

/**
 * Builds into a fresh directory beside `outDir`, then swaps it in: a `skiff` process started
 * meanwhile sees the old build or the new one (or none, and runs the sources), never half of one.
 */
export async function buildNode({ root = ROOT, outDir = OUT_DIR } = {}) {
  const key = sourceKey(root); // before reading the sources: an edit during the build leaves it stale
  const { build } = await import('esbuild');
  const tmp = `${outDir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: {
      cli: 'src/cli/main.ts',
      // Flat: src/runtime/worker-bundle-node.ts finds these beside itself.
      'vm-worker-node': 'workers/vm-worker-node.ts',
      'wasi-worker-node': 'workers/wasi-worker-node.ts',
    },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    logLevel: 'error',
  });
  writeFileSync(join(tmp, INFO), JSON.stringify({ key, builtAt: new Date().toISOString() }) + '\n');
  const old = `${outDir}.${process.pid}.old`;
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(tmp, outDir);
  rmSync(old, { recursive: true, force: true });
  return { outDir, key };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await import('esbuild');
  } catch {
    // An install without dev dependencies: bin/skiff.js runs the sources instead.
    process.stderr.write('build-node: esbuild is not installed, dist-node/ not built\n');
    process.exit(0);
  }
  const t0 = performance.now();
  try {
    const { outDir } = await buildNode({ outDir: process.argv[2] ? join(process.cwd(), process.argv[2]) : OUT_DIR });
    process.stderr.write(`build-node: ${relative(process.cwd(), outDir) || '.'} in ${Math.round(performance.now() - t0)} ms\n`);
  } catch (err) {
    // Loud, but not fatal for `npm install` (prepare): bin/skiff.js then runs the sources.
    process.stderr.write(`build-node: the compiled CLI was not built (bin/skiff.js will run the sources): ${err instanceof Error ? err.message : err}\n`);
    process.exitCode = process.env.npm_lifecycle_event === 'prepare' ? 0 : 1;
  }
}
