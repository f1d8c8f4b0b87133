/**
 * No import cycles among our modules (issue 9: parts that do not reach back). The graph is the one
 * a bundler sees: esbuild resolves every import of every file under src/ and workers/ (type-only
 * imports are erased, as at run time); dynamic import() counts too, so a cycle cannot hide behind
 * one. Strongly connected components of more than one file are cycles.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [join(dir, d.name)] : []);
}

/** Tarjan's strongly connected components, those with more than one member, each sorted. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const c: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1) out.push(c.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

it('finds a cycle where there is one (the check itself)', () => {
  expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
});

it('src/ and workers/ import each other in no cycle', { timeout: 120_000 }, async () => {
  const entryPoints = [...sources(join(root, 'src')), ...sources(join(root, 'workers'))];
  const r = await build({
    absWorkingDir: root, entryPoints, bundle: true, write: false, metafile: true, outdir: join(root, 'node_modules', '.cache', 'import-cycles'),
    format: 'esm', platform: 'neutral', packages: 'external', logLevel: 'silent',
    // Vite's asset and worker imports (?url, ?worker&url, ?raw) name files, not modules of ours.
    external: ['node:*', '*?url', '*?worker&url', '*?raw'],
  });
  const graph = new Map<string, string[]>();
  for (const [file, input] of Object.entries(r.metafile.inputs)) {
    graph.set(file, input.imports.filter((i) => !i.external).map((i) => i.path));
  }
  expect(graph.size).toBeGreaterThan(300);
  const found = cycles(graph).map((c) => c.map((f) => relative(root, join(root, f))));
  expect(found).toEqual([]);
});
