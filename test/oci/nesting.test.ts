/** Image documents nested absurdly deep are refused at parse time, before any recursive walk. */
import { describe, expect, it } from 'vitest';
import { parseImageConfig } from '../../src/oci/config.ts';
import { checkJsonDepth, MAX_JSON_DEPTH } from '../../src/oci/fields.ts';
import { parseIndex, parseManifest } from '../../src/oci/manifest.ts';
import { expectSkiffError } from '../helpers/errors.ts';

const config = (deep: string): string => `{"architecture":"386","os":"linux","config":{"Cmd":["sh"],"Labels":{"x":"y"}},"rootfs":{"type":"layers","diff_ids":[]},"deep":${deep}}`;
const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);

describe('nesting depth', () => {
  it('a config nested 100,000 deep is refused naming the limit (as text and as bytes)', () => {
    const text = config(nested(100_000));
    expectSkiffError(() => parseImageConfig(text, 'image config sha256:ab'), 'INVALID_ARGUMENT', /image config sha256:ab: nested more than 64 levels deep \(at character \d+\)/);
    expectSkiffError(() => parseImageConfig(new TextEncoder().encode(text)), 'INVALID_ARGUMENT', /nested more than 64 levels/);
  });

  it('an already parsed value is checked without recursion', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { d: deep };
    const m = { schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 }, layers: [], annotations: deep };
    expectSkiffError(() => parseManifest(m), 'INVALID_ARGUMENT', /image manifest: nested more than 64 levels deep/);
    expectSkiffError(() => parseIndex({ schemaVersion: 2, manifests: [], x: deep }), 'INVALID_ARGUMENT', /image index: nested more than 64 levels deep/);
  });

  it('the limit is exact, and brackets inside strings do not count', () => {
    expect(parseImageConfig(config(nested(MAX_JSON_DEPTH - 1))).os).toBe('linux');
    expectSkiffError(() => parseImageConfig(config(nested(MAX_JSON_DEPTH))), 'INVALID_ARGUMENT', /nested more than 64/);
    expect(() => checkJsonDepth(JSON.stringify({ s: '[[[[{{{{\\"[['.repeat(100) }), 'doc')).not.toThrow();
  });
});
