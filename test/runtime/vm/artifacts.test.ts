/** The committed guest artifacts: the manifest verifies, and the kernel fragment explains itself. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkArtifact } from '../../../src/runtime/vm/artifacts.ts';
import { nodeArtifacts } from '../../../src/runtime/vm/artifacts-node.ts';

describe('vm-images', () => {
  it('dist/ matches manifest.json and the installed v86 (what CI checks)', () => {
    const out = execFileSync('node', ['vm-images/manifest.mjs', 'verify'], { encoding: 'utf8' });
    expect(out).toMatch(/3 artifacts match the manifest/);
  });

  it('reads artifacts through the manifest and rejects a tampered one', async () => {
    const a = nodeArtifacts();
    const { value } = await a.manifest();
    const kernel = await a.read('bzImage');
    expect(kernel.byteLength).toBe(value.files.bzImage!.size);
    const tampered = kernel.slice(0);
    new Uint8Array(tampered)[1000] ^= 1;
    expect(() => checkArtifact('bzImage', tampered, value, 'dist')).toThrow(/bzImage: sha256 .* manifest says/);
    expect(value.files['bzImage']!.size + value.files['initrd.lz4']!.size + value.files['bios.bin']!.size).toBeLessThan(6 * 1024 * 1024);
  });

  it('gives every kernel option in the fragment a reason', () => {
    const lines = readFileSync('vm-images/kernel/skiff.config', 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!/^CONFIG_|^# CONFIG_.* is not set$/.test(line)) return;
      // Walk up over sibling options to the comment that heads the group.
      let j = i - 1;
      while (j >= 0 && /^CONFIG_|^# CONFIG_.* is not set$/.test(lines[j]!)) j--;
      expect(lines[j], `option on line ${i + 1} (${line}) has no comment above it`).toMatch(/^# \S/);
    });
  });
});
