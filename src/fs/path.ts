/** Path rules for layer entries: relative, normalized, never escaping the root. */

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type PathCheck = { ok: true; parts: string[] } | { ok: false; rule: string };

/**
 * Splits an entry path into components: `./a//b/` -> ['a', 'b']; '.' and '' are the root (no
 * components); `a/../b` -> ['b']. Absolute paths and `..` that climbs above the root are refused.
 */
export function splitEntryPath(path: string): PathCheck {
  if (path.startsWith('/')) return { ok: false, rule: 'absolute paths are not allowed' };
  // Fast path for the usual `usr/lib/x` or `usr/lib/`: nothing to normalize.
  if (path !== '' && path.charCodeAt(0) !== 46 && !path.includes('//') && !path.includes('/.') && !path.includes('\0')) {
    const parts = path.split('/');
    if (parts[parts.length - 1] === '') parts.pop();
    return { ok: true, parts };
  }
  if (path.includes('\0')) return { ok: false, rule: 'NUL in path' };
  const parts: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return { ok: false, rule: "'..' escapes the root" };
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return { ok: true, parts };
}

/** A name the overlay accepts as one path component. */
export function validName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export function joinPath(parts: readonly string[]): string {
  return parts.join('/');
}
