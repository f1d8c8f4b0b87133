/**
 * The compiled CLI (scripts/build-node.mjs): a build of the sources runs commands from plain
 * JavaScript, finds the package's files (bundled images, worker entries) from its own directory,
 * and is passed over as soon as any source differs from what it was built from.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript without declarations (it runs before TypeScript can)
import { buildNode, compiledEntry, sourceKey } from '../../scripts/build-node.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside the package, as dist-node/ is: the build finds vm-images/ by walking up to package.json.
const outDir = join(root, `dist-node-test-${process.pid}`);
const home = mkdtempSync(join(tmpdir(), 'skiff-compiled-'));

/** `code` as a module of its own (workers inherit execArgv: `-e` would reach them too). */
function run(code: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = join(home, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(script, code);
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { env: { ...process.env, SKIFF_HOME: home }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  await buildNode({ root, outDir });
}, 120_000);
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('compiled CLI', () => {
  it('is chosen for the sources it was built from, in plain JavaScript, with the worker entries beside it', () => {
    const entry = compiledEntry({ root, outDir }) as string | null;
    expect(entry).toBe(new URL(`file://${join(outDir, 'cli.js')}`).href);
    for (const f of ['cli.js', 'vm-worker-node.js', 'wasi-worker-node.js']) expect(existsSync(join(outDir, f)), f).toBe(true);
  });

  it('runs a command without tsx, and finds the bundled images from its own directory', async () => {
    const entry = compiledEntry({ root, outDir }) as string;
    // No loader registered: a .ts import anywhere in the build would fail here.
    const r = await run(`const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(['node', 'skiff', 'image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', 'skiff/busybox']);`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('linux/386');
    expect(r.code).toBe(0);
  }, 60_000);

  it('runs a wasm container through its compiled worker entry', async () => {
    const entry = compiledEntry({ root, outDir }) as string;
    const r = await run(`const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(['node', 'skiff', 'run', '--rm', 'skiff/hello-wasm']);`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hello/i);
  }, 60_000);

  it('is passed over once a source differs from the build (the key changes with any file)', () => {
    const key = sourceKey(root) as string;
    writeFileSync(join(outDir, 'build.json'), JSON.stringify({ key: key.replace(/^./, (c) => (c === '0' ? '1' : '0')) }));
    expect(compiledEntry({ root, outDir })).toBeNull();
    writeFileSync(join(outDir, 'build.json'), JSON.stringify({ key }));
    expect(compiledEntry({ root, outDir })).not.toBeNull();
    rmSync(join(outDir, 'build.json'));
    expect(compiledEntry({ root, outDir })).toBeNull();
  });
});
