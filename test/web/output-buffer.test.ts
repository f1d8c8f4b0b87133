/** `<skiff-run>`'s output buffer: the newest `limit` characters kept, runs per stream, drops counted. */
import { describe, expect, it } from 'vitest';
import { OutputBuffer, type OutputRun } from '../../src/web/components/output-buffer.ts';

describe('OutputBuffer', () => {
  it('keeps the last `limit` characters however the writes are cut, and counts the rest', () => {
    const b = new OutputBuffer(1000);
    let all = '';
    for (let i = 0; i < 20_000; i++) {
      const line = `${i}\n`;
      all += line;
      b.append(line, i % 7 === 0 ? 'stderr' : 'stdout');
    }
    expect(b.text()).toBe(all.slice(-1000));
    expect(b.dropped).toBe(all.length - 1000);
    expect(b.runs.reduce((n, r) => n + r.text.length, 0)).toBe(1000);
  });

  it('one run per stretch of one stream; the view mirrors every change', () => {
    const shown: string[] = [];
    const idx = new Map<OutputRun, number>();
    const b = new OutputBuffer(10, {
      added: (r) => { idx.set(r, shown.push(r.text) - 1); },
      grew: (r, t) => { shown[idx.get(r)!] += t; },
      trimmed: (r, n) => { shown[idx.get(r)!] = shown[idx.get(r)!]!.slice(n); },
      removed: (r) => { shown[idx.get(r)!] = ''; },
    });
    for (const c of 'abcdef') b.append(c, 'stdout');
    expect(b.runs).toHaveLength(1);
    b.append('XYZ', 'stderr');
    b.append('ghijk', 'stdout');
    expect(b.text()).toBe('efXYZghijk');
    expect(shown.join('')).toBe(b.text());
    b.append('0123456789AB', 'stderr');
    expect(b.text()).toBe('3456789AB'.padStart(10, '2'));
    expect(shown.join('')).toBe(b.text());
    expect(b.runs.map((r) => r.stream)).toEqual(['stderr']);
  });
});
