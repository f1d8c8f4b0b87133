/**
 * A container's output through the real bin (bin/skiff.js) into a pipe (issue 10 Medium 5):
 * `skiff run ... yes | head` exits quietly when the reader goes away (141, as any writer in a
 * broken pipe; nothing on stderr), the `--rm` container is gone, and a reader slower than the
 * container does not make skiff's memory grow (backpressure reaches the WASI worker).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'skiff.js');
let dir: string;
let home: string;

/** Lua's `yes`: 41-byte lines as fast as it can write them. */
const YES = ['run', '--rm', 'skiff/lua-wasm', '-e', "while true do io.write('yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\\n') end"];

function skiff(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-output-'));
  home = join(dir, 'home');
  expect((await skiff(['run', '--rm', 'skiff/lua-wasm', '-e', 'print(1)'])).code).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('container output into a pipe', () => {
  it('yes | head: the reader leaves, skiff exits 141 quietly and --rm removes the container', async () => {
    const p = spawn(process.execPath, [bin, ...YES], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    // `head -3`: read three lines, then close our end of the pipe.
    const lines = await new Promise<string>((resolve) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d;
        if (got.split('\n').length > 3) {
          p.stdout.off('data', onData);
          p.stdout.destroy();
          resolve(got.split('\n').slice(0, 3).join('\n'));
        }
      };
      p.stdout.on('data', onData);
    });
    expect(lines).toBe(Array(3).fill('y'.repeat(40)).join('\n'));
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    expect(code).toBe(141);
    expect(stderr).toBe('');
    expect((await skiff(['ps', '-a', '-q'])).stdout).toBe('');
  }, 120_000);

  it('a reader slower than the container: memory stays flat (backpressure), nothing is lost in order', async () => {
    const p = spawn(process.execPath, [bin, ...YES], { env: { ...process.env, SKIFF_HOME: home }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.pause();
    // Nobody reads for 6 s: without backpressure the output piles up in skiff (~150 MB/s here).
    await new Promise((r) => setTimeout(r, 2000));
    const early = rssMb(p.pid!);
    await new Promise((r) => setTimeout(r, 4000));
    const late = rssMb(p.pid!);
    // Then read 4 MB: every line whole, in order.
    const text = await new Promise<string>((resolve) => {
      let got = '';
      p.stdout.on('data', (d) => {
        got += d;
        if (got.length >= 4 << 20) { p.stdout.destroy(); resolve(got); }
      });
      p.stdout.resume();
    });
    expect(await new Promise((resolve) => p.on('close', resolve))).toBe(141);
    expect(text.split('\n').slice(0, -1).every((l) => l === 'y'.repeat(40))).toBe(true);
    console.log(`slow reader: skiff RSS ${early.toFixed(0)} MB after 2 s, ${late.toFixed(0)} MB after 6 s`);
    expect(late - early).toBeLessThan(48);
    expect(late).toBeLessThan(400);
    expect((await skiff(['ps', '-a', '-q'])).stdout).toBe('');
  }, 120_000);
});
