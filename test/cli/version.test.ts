/** `skiff version` and `skiff info` (the real bin, an empty $SKIFF_HOME): Docker's layout and field names for --format. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const home = mkdtempSync(join(tmpdir(), 'skiff-version-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const skiff = async (...args: string[]) => (await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, SKIFF_HOME: home } })).stdout;

describe('skiff version and info', () => {
  it('version: Client and Server blocks, the API version the server speaks, --format over Docker\'s fields', async () => {
    expect(await skiff('version')).toMatch(/^Client:\n Version: +\S+\n API version: +1\.43\n[^]*\nServer: skiff\n Engine:\n  Version: +\S+\n  API version: +1\.43 \(minimum version 1\.24\)\n/);
    expect(await skiff('version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}')).toBe('1.43 1.24\n');
    expect(await skiff('--version')).toMatch(/^skiff version \S+\n$/);
  }, 60_000);

  it('info on an empty store: counts in Docker\'s layout; --format json', async () => {
    expect(await skiff('info')).toMatch(/\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n/);
    expect(JSON.parse(await skiff('info', '--format', 'json'))).toMatchObject({ Containers: 0, ContainersRunning: 0, OSType: 'linux', Driver: 'skiff' });
  }, 60_000);
});
