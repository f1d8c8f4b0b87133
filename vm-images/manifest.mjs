#!/usr/bin/env node
// `node vm-images/manifest.mjs write|verify`: the guest artifacts' manifest. CI runs `verify`
// (does not rebuild): every listed file must exist with its size and SHA-256, and the v86
// version must be the installed one, since a snapshot is only valid for the v86 that made it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const files = ['bzImage', 'initrd.lz4', 'bios.bin'];
const v86Version = JSON.parse(readFileSync(join(here, '..', 'node_modules', 'v86', 'package.json'), 'utf8')).version;
const cmdline = 'console=ttyS0 quiet loglevel=3 tsc=unstable';

function describe(name) {
  const bytes = readFileSync(join(dist, name));
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

const mode = process.argv[2] ?? 'verify';
if (mode === 'write') {
  const manifest = { v86: v86Version, cmdline, memoryMiB: 128, files: {} };
  for (const f of files) manifest.files[f] = describe(f);
  writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`manifest: ${files.map((f) => `${f} ${manifest.files[f].size}`).join(', ')}`);
} else {
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
  const problems = [];
  if (manifest.v86 !== v86Version) problems.push(`v86 is ${v86Version}, the artifacts were made for ${manifest.v86}`);
  for (const [name, want] of Object.entries(manifest.files)) {
    if (!existsSync(join(dist, name))) { problems.push(`${name}: missing`); continue; }
    const got = describe(name);
    if (got.size !== want.size) problems.push(`${name}: size ${got.size}, manifest says ${want.size}`);
    if (got.sha256 !== want.sha256) problems.push(`${name}: sha256 ${got.sha256}, manifest says ${want.sha256}`);
  }
  if (problems.length) {
    console.error(`vm-images/dist/manifest.json does not match:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`vm-images: ${Object.keys(manifest.files).length} artifacts match the manifest`);
}
