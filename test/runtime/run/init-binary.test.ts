/** The embedded --init binary is exactly what clang-16 builds from src/runtime/spec/skiff-init.c. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skiffInitBinary } from '../../../src/runtime/vm/skiff-init-binary.ts';
import { buildSkiffInit } from '../spec/init-binary.ts';
import { requireTool } from '../../helpers/peers.ts';

describe('embedded skiff-init', () => {
  it('matches a fresh build of skiff-init.c and is a static i386 ELF', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-init-'));
    try {
      const out = join(dir, 'skiff-init');
      buildSkiffInit(out);
      const built = new Uint8Array(readFileSync(out));
      const embedded = skiffInitBinary();
      expect(Buffer.from(embedded).equals(Buffer.from(built)), 'rebuild skiff-init-binary.ts (see its header)').toBe(true);
      expect(execFileSync(requireTool('file', 'file'), ['-b', out], { encoding: 'utf8' })).toMatch(/ELF 32-bit LSB executable, Intel 80386.*statically linked/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
