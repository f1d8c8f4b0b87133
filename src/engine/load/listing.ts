/**
 * What an image archive holds, as seen while streaming through it once: every regular file's
 * digest and size (small files, i.e. JSON documents, kept in memory), and the link entries
 * (docker save writes a layer shared by two images as a symlink to the first copy).
 * Sans-IO: the loader fills it, the planners read it.
 */
import { SkiffError } from '../../errors.ts';
import type { Digest } from '../../oci/digest.ts';
import { checkJsonDepth } from '../../oci/fields.ts';

export interface ArchiveFile {
  name: string;
  digest: Digest;
  size: number;
  /** The first bytes (compression sniffing). */
  magic: Uint8Array;
  /** Whole content, kept for small files only. */
  bytes?: Uint8Array;
}

export interface ArchiveListing {
  /** Names the archive in errors ("busybox.tar"). */
  archive: string;
  files: Map<string, ArchiveFile>;
  links: Map<string, { type: 'symlink' | 'hardlink'; target: string }>;
  /** Entries read, of every kind. */
  entries: number;
}

export function invalidArchive(archive: string, entry: string | undefined, rule: string): SkiffError {
  return new SkiffError('INVALID_ARCHIVE', `loading ${archive}${entry !== undefined ? `: entry "${entry}"` : ''}: ${rule}`);
}

/** "./a//b/" -> "a/b"; rejects absolute names and ".." that climbs out of the archive. */
export function normalizeArchivePath(archive: string, name: string): string {
  if (name.startsWith('/')) throw invalidArchive(archive, name, 'absolute path in image archive');
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw invalidArchive(archive, name, 'path escapes the archive root');
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/** Follow link entries to the regular file they name. */
export function resolveFile(listing: ArchiveListing, name: string, referrer: string): ArchiveFile {
  let cur = normalizeArchivePath(listing.archive, name);
  for (let hops = 0; hops < 16; hops++) {
    const f = listing.files.get(cur);
    if (f) return f;
    const link = listing.links.get(cur);
    if (!link) throw invalidArchive(listing.archive, cur, `named by ${referrer} but not in the archive`);
    const base = link.type === 'symlink' ? cur.split('/').slice(0, -1).join('/') : '';
    if (link.target.startsWith('/')) throw invalidArchive(listing.archive, cur, `link target "${link.target}" is absolute`);
    cur = normalizeArchivePath(listing.archive, base ? `${base}/${link.target}` : link.target);
  }
  throw invalidArchive(listing.archive, name, 'too many levels of links');
}

export function textOf(listing: ArchiveListing, f: ArchiveFile): string {
  if (!f.bytes) throw invalidArchive(listing.archive, f.name, `too large for a JSON document (${f.size} bytes)`);
  return new TextDecoder().decode(f.bytes);
}

export function jsonOf(listing: ArchiveListing, f: ArchiveFile): unknown {
  const text = textOf(listing, f);
  try {
    checkJsonDepth(text, `entry "${f.name}"`);
  } catch (err) {
    throw invalidArchive(listing.archive, f.name, `${(err as Error).message.replace(/^entry "[^"]*": /, '')}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    throw invalidArchive(listing.archive, f.name, `not valid JSON (${(err as Error).message})`);
  }
}
