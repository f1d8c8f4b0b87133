/**
 * Platforms ("linux/386", "wasi/wasm", "linux/arm/v7"): parse, normalize, match, and pick the best
 * manifest out of an index for an ordered list of wanted platforms.
 */
import { SkiffError } from '../errors.ts';
import { fail, isObject, optStr, optStrArray, str, type Json } from './fields.ts';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

const OS_ALIASES: Record<string, string> = { wasip1: 'wasi', wasip2: 'wasi', macos: 'darwin' };
const ARCH_ALIASES: Record<string, [string, string?]> = {
  i386: ['386'], i486: ['386'], i586: ['386'], i686: ['386'], x86: ['386'],
  x86_64: ['amd64'], 'x86-64': ['amd64'], x64: ['amd64'],
  aarch64: ['arm64'], armhf: ['arm', 'v7'], armel: ['arm', 'v6'],
  wasm32: ['wasm'], wasm32_wasi: ['wasm'],
};

/** Canonical spelling, as containerd's platforms.Normalize does (arm64 drops "v8", arm defaults "v7"). */
export function normalizePlatform(p: Platform): Platform {
  const os = (OS_ALIASES[p.os.toLowerCase()] ?? p.os).toLowerCase();
  const lowerArch = p.architecture.toLowerCase();
  const alias = ARCH_ALIASES[lowerArch];
  const architecture = alias ? alias[0] : lowerArch;
  let variant = p.variant?.toLowerCase() || alias?.[1];
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && variant && /^\d$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']) out['os.features'] = p['os.features'];
  return out;
}

/** "linux/386", "linux/arm/v7", "wasi/wasm", or a bare OS ("linux": architecture left empty). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length > 3 || parts.some((x) => x === '' || !/^[A-Za-z0-9._-]+$/.test(x))) {
    throw new SkiffError('INVALID_ARGUMENT', `platform "${s}": expected os/arch[/variant], e.g. linux/386 or wasi/wasm`);
  }
  const [os, architecture, variant] = parts as [string, string?, string?];
  const p: Platform = { os, architecture: architecture ?? '' };
  if (variant) p.variant = variant;
  if (!architecture) return { os: OS_ALIASES[os.toLowerCase()] ?? os.toLowerCase(), architecture: '' };
  return normalizePlatform(p);
}

export function formatPlatform(p: Platform): string {
  const n = p.architecture ? normalizePlatform(p) : p;
  return [n.os, n.architecture, n.variant].filter((x) => x).join('/');
}

/**
 * Does `have` satisfy `want`? OS and architecture must be equal after normalizing; a wanted variant
 * must be equal, an unwanted one is ignored. An empty wanted architecture matches any.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = want.architecture ? normalizePlatform(want) : { ...want, os: want.os.toLowerCase() };
  const h = normalizePlatform(have);
  if (w.os !== h.os) return false;
  if (w.architecture && w.architecture !== h.architecture) return false;
  if (want.variant !== undefined && w.variant !== h.variant) return false;
  return true;
}

/**
 * From index entries, the one best for `wanted` (earlier wanted platforms are preferred). Entries
 * without a platform and attestation entries ("unknown/unknown") are never picked. Returns
 * undefined when nothing matches.
 */
export function pickManifest<T extends { platform?: Platform }>(entries: readonly T[], wanted: readonly Platform[]): T | undefined {
  for (const want of wanted) {
    for (const e of entries) {
      if (!e.platform || e.platform.os === 'unknown') continue;
      if (platformMatches(want, e.platform)) return e;
    }
  }
  return undefined;
}

export function parsePlatformObject(v: unknown, doc: string, path: string): Platform {
  if (!isObject(v)) fail(doc, path, 'must be a platform object');
  const o = v as Json;
  const p: Platform = {
    architecture: str(o, 'architecture', doc, `${path}.architecture`),
    os: str(o, 'os', doc, `${path}.os`),
  };
  const variant = optStr(o, 'variant', doc, `${path}.variant`);
  if (variant) p.variant = variant;
  const osVersion = optStr(o, 'os.version', doc, `${path}.os.version`);
  if (osVersion) p['os.version'] = osVersion;
  const features = optStrArray(o, 'os.features', doc, `${path}.os.features`);
  if (features) p['os.features'] = features;
  return p;
}
