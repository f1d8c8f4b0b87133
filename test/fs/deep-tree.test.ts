import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('whole-tree walks on trees deeper than the call stack', () => {
  it('diffUpper, changes, exportMerged, statfs, rename and fromUpper do not recurse per level', () => {
    // A 150 KB stack overflows a recursive walk well before 3000 levels.
    const out = execFileSync(process.execPath, ['--stack-size=150', '--import', 'tsx', 'test/fs/deep-tree.ts', '3000'], { encoding: 'utf8' });
    expect(out.trim()).toBe('ok 3002 3002 3003 true directory');
  });
});
