/** Path rules for layer entries: relative, normalized, never escaping the root. */

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type PathCheck = { ok: true; parts: string[] } | { ok: false; rule: string };

/**
 * Splits an entry path into components: `./a//b/` -> ['a', 'b']; '.' and '' are the root (no
 * components); `a/../b` -> ['b']. Absolute paths and `..` that climbs above the root are refused.
 */
/** Linux limits: a layer whose paths break them could never be extracted by a kernel either. */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;
const utf8 = new TextEncoder();

export function splitEntryPath(path: string, options: { pathMax?: number } = {}): PathCheck {
  const pathMax = options.pathMax ?? PATH_MAX;
  const checked = checkEntryPath(path);
  if (!checked.ok) return checked;
  // UTF-16 units take at most 3 UTF-8 bytes: only long names need the exact count.
  for (const part of checked.parts) {
    if (part.length > NAME_MAX / 3 && utf8.encode(part).length > NAME_MAX) return { ok: false, rule: `a name is longer than ${NAME_MAX} bytes` };
  }
  if (path.length > pathMax / 3 && utf8.encode(path).length > pathMax) return { ok: false, rule: `path longer than ${pathMax} bytes` };
  return checked;
}

function checkEntryPath(path: string): PathCheck {
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
