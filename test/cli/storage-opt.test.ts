/** `--storage-opt` through the real bin: bad values are usage errors (exit 125) before anything is created. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const home = mkdtempSync(join(tmpdir(), 'skiff-storage-opt-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function skiff(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home } });
    return { code: 0, ...r };
  } catch (err) {
    return err as { code: number; stdout: string; stderr: string };
  }
}

describe('skiff create/run --storage-opt', () => {
  it('size=abc, an unknown option and a missing = are usage errors naming the value; nothing is created', async () => {
    expect(await skiff('create', '--storage-opt', 'size=abc', 'skiff/busybox')).toMatchObject({
      code: 125, stdout: '', stderr: expect.stringContaining(`invalid argument "abc" for "--storage-opt size" flag: invalid size: 'abc'`),
    });
    expect(await skiff('run', '--rm', '--storage-opt', 'inodes=10', 'skiff/busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringContaining('--storage-opt inodes: unknown option') });
    expect(await skiff('create', '--storage-opt', 'size', 'skiff/busybox')).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid storage option "size"') });
    expect((await skiff('ps', '-aq')).stdout).toBe('');
  }, 60_000);
});
