#!/usr/bin/env node
// The compiled CLI (dist-node/, built by `npm install` through `prepare`, or `npm run build:node`)
// when it was built from the sources as they are; otherwise (a checkout being edited) the
// TypeScript sources, compiled on the fly by tsx (a dev dependency). SKIFF_FROM_SOURCES=1 forces
// the sources (stack traces name .ts lines; bench/run.bench.ts measures both).
import { compiledEntry } from '../scripts/build-node.mjs';

const entry = process.env.SKIFF_FROM_SOURCES === '1' ? null : compiledEntry();
let main;
if (entry) {
  ({ main } = await import(entry));
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('skiff: dist-node/ is missing or older than the sources, and tsx is not installed: run `npm run build:node`\n');
    process.exit(1);
  }
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv);
