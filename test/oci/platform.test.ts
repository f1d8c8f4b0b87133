import { describe, expect, it } from 'vitest';
import { formatPlatform, normalizePlatform, parsePlatform, pickManifest, platformMatches } from '../../src/oci/platform.ts';

describe('platform', () => {
  it('parses and normalizes', () => {
    expect(parsePlatform('linux/386')).toEqual({ os: 'linux', architecture: '386' });
    expect(parsePlatform('linux/i386')).toEqual({ os: 'linux', architecture: '386' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('wasip1/wasm')).toEqual({ os: 'wasi', architecture: 'wasm' });
    expect(parsePlatform('wasi/wasm32')).toEqual({ os: 'wasi', architecture: 'wasm' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64' })).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(formatPlatform({ os: 'linux', architecture: 'i686' })).toBe('linux/386');
    expect(formatPlatform(parsePlatform('linux/arm/v6'))).toBe('linux/arm/v6');
    for (const bad of ['', 'linux/', 'a/b/c/d', 'linux/3 86']) expect(() => parsePlatform(bad)).toThrow(/platform/);
  });

  it('matches', () => {
    expect(platformMatches(parsePlatform('linux/386'), { os: 'linux', architecture: 'i386' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/386'), { os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('wasi'), { os: 'wasip1', architecture: 'wasm' })).toBe(true);
  });

  it('picks by preference order and skips attestations', () => {
    const entries = [
      { id: 'amd64', platform: { os: 'linux', architecture: 'amd64' } },
      { id: 'att', platform: { os: 'unknown', architecture: 'unknown' } },
      { id: 'noplat' },
      { id: '386', platform: { os: 'linux', architecture: '386' } },
      { id: 'wasm', platform: { os: 'wasip1', architecture: 'wasm' } },
    ];
    expect(pickManifest(entries, [parsePlatform('linux/386'), parsePlatform('wasi/wasm')])?.id).toBe('386');
    expect(pickManifest(entries, [parsePlatform('wasi/wasm'), parsePlatform('linux/386')])?.id).toBe('wasm');
    expect(pickManifest(entries, [parsePlatform('linux/riscv64')])).toBeUndefined();
    expect(pickManifest(entries, [{ os: 'unknown', architecture: 'unknown' }])).toBeUndefined();
  });
});
