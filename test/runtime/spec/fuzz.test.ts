/**
 * Hostile input to every parser: random strings built from the characters that matter to each
 * syntax. Each call returns a value or throws SkiffError INVALID_ARGUMENT, never anything else,
 * and what it returns keeps the parser's promises (absolute clean paths, whole byte counts ...).
 */
import { describe, expect, it } from 'vitest';
import { isSkiffError } from '../../../src/errors.ts';
import { parseCpus, parseEnvFile, parseEnvFlag, parseLabel, parseMemory } from '../../../src/runtime/spec/flags.ts';
import { parseSecurityOpt, validateHostname } from '../../../src/runtime/spec/options.ts';
import { parseSignal } from '../../../src/runtime/spec/signals.ts';
import { parseGroup, parsePasswd, parseUser, resolveUser } from '../../../src/runtime/spec/users.ts';
import { cleanPath, parseTmpfs, parseVolumeSpec } from '../../../src/runtime/spec/volumes.ts';

/** Small deterministic PRNG (mulberry32): failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function strings(alphabet: string[], count: number, seed: number, maxLen = 24): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const n = Math.floor(r() * maxLen);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
    return s;
  });
}

function outcome<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!isSkiffError(err, 'INVALID_ARGUMENT')) throw err;
    return undefined;
  }
}

const PATHY = ['/', '/', ':', 'a', 'b', '.', '..', ',', 'ro', 'rw', 'z', 'shared', 'nocopy', ' ', '=', '\\', '\0', 'é'];
const SIZEY = ['0', '1', '9', '.', 'k', 'm', 'g', 'b', 'i', 'B', 'K', ' ', '-', 'e', '/', 'x'];

describe('parsers under random input', () => {
  it('-v: valid results have clean absolute destinations; binds have clean absolute sources', () => {
    let ok = 0;
    for (const s of strings(PATHY, 4000, 1)) {
      const v = outcome(() => parseVolumeSpec(s));
      if (!v) continue;
      ok++;
      expect(v.destination.startsWith('/') && v.destination !== '/' && cleanPath(v.destination) === v.destination, s).toBe(true);
      if (v.type === 'bind') expect(v.source === cleanPath(v.source) && v.source.startsWith('/'), s).toBe(true);
      else if (v.name !== undefined) expect(v.name, s).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    }
    expect(ok).toBeGreaterThan(50);
  });

  it('--tmpfs: destinations clean and absolute, options never contain unknown keys', () => {
    for (const s of strings([...PATHY, 'size=', 'mode=', 'exec', 'noexec', 'uid=', '1'], 4000, 2)) {
      const t = outcome(() => parseTmpfs(s));
      if (!t) continue;
      expect(t.destination.startsWith('/') && cleanPath(t.destination) === t.destination, s).toBe(true);
      for (const o of t.options) expect(o, s).toMatch(/^(no)?(exec|suid|dev)$|^(ro|rw)$|^(size|mode|uid|gid|nr_inodes|nr_blocks|mpol)=|^(a?sync|dirsync|(no)?(mand|atime|diratime|relatime|strictatime))$/);
    }
  });

  it('--memory and --cpus give whole non-negative numbers or a clear error', () => {
    for (const s of strings(SIZEY, 4000, 3, 10)) {
      const m = outcome(() => parseMemory(s));
      if (m !== undefined) expect(Number.isSafeInteger(m) && m >= 0, s).toBe(true);
      const c = outcome(() => parseCpus(s));
      if (c !== undefined) expect(Number.isSafeInteger(c), s).toBe(true);
    }
  });

  it('env, labels, signals, users, hostnames, security options', () => {
    const any = ['A', 'b', '_', '=', ' ', '\t', '#', '\n', '\r', ':', '1', '0', 'é', '\uFEFF', 'SIG', '+', '-', 'x'];
    for (const s of strings(any, 3000, 4)) {
      outcome(() => parseEnvFlag(s, { A: 'host' }));
      outcome(() => parseEnvFile(s, { hostEnv: { A: 'host' } }));
      outcome(() => parseLabel(s));
      const sig = outcome(() => parseSignal(s));
      if (sig !== undefined) expect(sig >= 1 && sig <= 64, s).toBe(true);
      outcome(() => validateHostname(s));
      outcome(() => parseSecurityOpt(s));
      const u = outcome(() => resolveUser(s, { passwd: s, group: s }));
      if (u) expect(Number.isInteger(u.uid) && u.uid >= 0 && Number.isInteger(u.gid) && u.gid >= 0, s).toBe(true);
      parseUser(s.replaceAll('\n', ''));
      parsePasswd(s);
      parseGroup(s);
    }
  });
});
