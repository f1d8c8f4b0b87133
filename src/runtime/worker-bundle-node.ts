/**
 * The script a Node worker_threads Worker runs, for both of our workers (workers/vm-worker-node.ts,
 * workers/wasi-worker-node.ts). Node cannot load TypeScript in a worker by itself (tsx's loader in
 * a worker costs ~300 ms a start), so running from sources the entry is bundled with esbuild (v86
 * included) into the temp dir, under a key of its inputs' sizes and mtimes: a CLI command does not
 * pay esbuild (50-200 ms here) on every start, and an edited source is rebuilt. The compiled CLI
 * (dist-node/, scripts/build-node.mjs) runs the worker entries compiled beside it.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NodeWorkerEntry = 'vm-worker-node' | 'wasi-worker-node';

const fromSources = import.meta.url.endsWith('.ts');
const built = new Map<NodeWorkerEntry, Promise<string>>();

/** Every .ts file under the directories a worker bundle is made of (sources and entries). */
function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (d.isDirectory()) sourceFiles(join(dir, d.name), out);
    else if (d.name.endsWith('.ts')) out.push(join(dir, d.name));
  }
  return out;
}

/** What a bundle is made of: our sources, the worker entries and v86 (by its package.json). */
function bundleKey(): string {
  const h = createHash('sha256');
  const dirs = [new URL('../', import.meta.url), new URL('../../workers/', import.meta.url)].map((u) => fileURLToPath(u));
  const files = [...dirs.flatMap((d) => sourceFiles(d)), createRequire(import.meta.url).resolve('v86/package.json')];
  for (const f of files.sort()) {
    const st = statSync(f);
    h.update(`${f}:${st.size}:${st.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** An hour: longer than any process takes from finding its bundle to starting a worker from it. */
const STALE_MS = 3600_000;

/**
 * Bundles of older sources (and builds that died half-way, and the per-process bundles earlier
 * versions wrote: skiff-vm-worker-*, skiff-wasi-worker-*), so that edits do not fill the temp dir.
 */
export function pruneOldBundles(name: NodeWorkerEntry, keep: string): void {
  const dir = tmpdir();
  const prefix = `skiff-${name.replace(/-node$/, '')}-`;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (!f.startsWith(prefix) || path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

export function nodeWorkerScript(name: NodeWorkerEntry): Promise<string> {
  // Compiled, every module of the build sits in one directory (scripts/build-node.mjs), the worker entries too.
  if (!fromSources) return Promise.resolve(fileURLToPath(new URL(`./${name}.js`, import.meta.url)));
  const entry = fileURLToPath(new URL(`../../workers/${name}.ts`, import.meta.url));
  let p = built.get(name);
  if (!p) {
    p = (async () => {
      const outfile = join(tmpdir(), `skiff-${name}-${bundleKey()}.mjs`);
      try {
        statSync(outfile);
        return outfile;
      } catch {
        // not built yet
      }
      const esbuild = await import('esbuild');
      const tmp = `${outfile}.${process.pid}.tmp`;
      await esbuild.build({
        entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: tmp, logLevel: 'error',
        // libv86 probes for `require` when it loads its wasm; give the ESM bundle one.
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      });
      renameSync(tmp, outfile); // atomic: a concurrent process sees the whole file or none
      pruneOldBundles(name, outfile);
      return outfile;
    })();
    p.catch(() => built.delete(name));
    built.set(name, p);
  }
  return p;
}
