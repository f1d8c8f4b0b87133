/**
 * `npm run bench [-- --filter PREFIX]`: runs every bench/<area>.bench.ts and merges what they
 * return into bench/results.json: {"metric": {"value", "unit", "baseline"?}}.
 * Each area module exports `run(): Promise<Record<string, Metric>>`. Metrics are medians of
 * repeated runs measured side by side with their baseline in the same process run.
 */
import { readdir, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { useNodeNatives } from '../src/node-natives.ts';

export interface Metric {
  value: number;
  unit: string;
  baseline?: number;
  note?: string;
}

// As every Node process skiff runs (src/node.ts): native gzip and SHA-256.
useNodeNatives();

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const filterIdx = args.indexOf('--filter');
const filter = filterIdx >= 0 ? args[filterIdx + 1] ?? '' : '';

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const outPath = join(here, 'results.json');
let results: Record<string, Metric> = {};
if (filter) {
  // A filtered run updates only its own metrics.
  try { results = JSON.parse(await readFile(outPath, 'utf8')); } catch { results = {}; }
}
for (const file of files) {
  const area = file.replace(/\.bench\.ts$/, '');
  if (filter && !area.startsWith(filter.split('.')[0]!) ) continue;
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run(filter: string): Promise<Record<string, Metric>> };
  process.stderr.write(`bench: ${area}\n`);
  const got = await mod.run(filter);
  for (const [k, v] of Object.entries(got)) {
    // A filter naming the area keeps all its metrics (registry.bench.ts reports pull.* and push.*).
    if (filter && filter !== area && !k.startsWith(filter)) continue;
    results[k] = v;
    process.stderr.write(`  ${k} = ${v.value} ${v.unit}${v.baseline !== undefined ? ` (baseline ${v.baseline})` : ''}\n`);
  }
}
await writeFile(outPath, JSON.stringify(results, null, 2) + '\n');
process.stdout.write(JSON.stringify(results) + '\n');
