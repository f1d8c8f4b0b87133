/**
 * `--storage-opt size=` in the VM: the guest's writes reach the writable layer through 9p, so a
 * `dd` past the quota fails in the guest with "No space left on device", df shows the limit, and
 * the layer keeps what fit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../src/engine/engine.ts';
import { openEngine } from '../../../src/node.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';

const dec = new TextDecoder();
let home: string;
let engine: Engine;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'skiff-quota-vm-'));
  engine = await openEngine({ home });
}, 60_000);

afterAll(async () => {
  await engine?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

describe('storage quota, VM', () => {
  it('size=2m: dd of 8 MiB fails with ENOSPC in the guest; the layer holds the 2 MiB that fit; df shows the limit', async () => {
    let out = '';
    const io = { onStdout: (d: Uint8Array) => void (out += dec.decode(d)), onStderr: (d: Uint8Array) => void (out += dec.decode(d)) };
    const r = await engine.runContainer({
      image: 'skiff/busybox', cmd: ['sh', '-c', 'dd if=/dev/zero of=/f bs=1M count=8; echo "dd=$?"; ls -l /f; df -k /'],
      run: parseRunFlags({ storageOpt: ['size=2m'] }), io,
    });
    expect(r.exit.exitCode).toBe(0);
    expect(out).toMatch(/No space left on device/);
    expect(out).toMatch(/dd=1\n/);
    expect(out).toMatch(/ 2097152 .* \/f\n/);
    // statfs through 9p: df in the guest sees the 2 MiB limit, all used.
    expect(out).toMatch(/\n\S+\s+2048\s+2048\s+0\s+100% \/\n/);
    const fs = await engine.containerFs({ id: r.id });
    expect(fs.stat(fs.lookup(fs.root(), 'f')).size).toBe(2 * 2 ** 20);
    expect(fs.statfs()).toMatchObject({ blocks: 512 });
  }, 120_000);
});
