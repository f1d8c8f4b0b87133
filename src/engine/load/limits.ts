/**
 * What one load may cost. An archive of a few megabytes can unpack to gigabytes (a gzip bomb) or
 * to a million entries; every image a load accepts is later opened whole in memory (its layer
 * trees), so the defaults are sized for a browser tab, and each is a load option to raise.
 */
import { SkiffError } from '../../errors.ts';
import { DEFAULT_MAX_ZSTD_WINDOW } from '../../archive/index.ts';

export interface LoadLimits {
  /** Most uncompressed bytes in one layer. */
  maxLayerBytes: number;
  /** Most uncompressed bytes in one image (the sum of its layers). */
  maxImageBytes: number;
  /** Most uncompressed layer bytes one load checks, all images together. */
  maxLoadBytes: number;
  /** Most entries in one image's layers. */
  maxImageEntries: number;
  /** Most entries one load reads: in the archive itself, and in all layers it checks. */
  maxLoadEntries: number;
  /** Largest zstd window (the memory the decoder allocates per frame). */
  maxZstdWindowBytes: number;
  /** Largest archive after decompression (when the archive itself is compressed). */
  maxArchiveBytes: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = {
  maxLayerBytes: 2 ** 30,
  maxImageBytes: 2 ** 30,
  maxLoadBytes: 2 ** 31,
  maxImageEntries: 300_000,
  maxLoadEntries: 1_000_000,
  maxZstdWindowBytes: DEFAULT_MAX_ZSTD_WINDOW,
  maxArchiveBytes: 2 ** 32,
};

export function resolveLimits(given: Partial<LoadLimits>): LoadLimits {
  const out = { ...DEFAULT_LOAD_LIMITS };
  for (const k of Object.keys(out) as Array<keyof LoadLimits>) {
    const v = given[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new SkiffError('INVALID_ARGUMENT', `load option ${k} must be a positive number, not ${String(v)}`);
    out[k] = v;
  }
  return out;
}

function amount(n: number, unit: 'bytes' | 'entries'): string {
  if (unit === 'entries') return `${n} entries`;
  for (const [u, f] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= f) return `${+(n / f).toFixed(1)} ${u} (${n} bytes)`;
  return `${n} bytes`;
}

/** "image x holds more than 1 GiB uncompressed, the limit set by the load option maxImageBytes ..." */
export function overLimit(what: string, limit: keyof LoadLimits | Array<keyof LoadLimits>, value: number, unit: 'bytes' | 'entries'): SkiffError {
  const names = Array.isArray(limit) ? limit : [limit];
  const list = names.join(' and ');
  const size = unit === 'bytes' ? ' uncompressed' : '';
  return new SkiffError('INVALID_ARCHIVE', `${what} holds more than ${amount(value, unit)}${size}, the limit set by the load option${names.length > 1 ? 's' : ''} ${list} (possible decompression bomb; raise ${list} to load it)`);
}
