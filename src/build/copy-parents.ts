/**
 * `COPY --parents`: sources keep their directories under the destination, as `cp --parents` or
 * `rsync --relative` do. A `/./` in a source marks where the kept part starts; `**` in the
 * pattern spans directories. What matches is a path or a directory (its whole tree), as
 * BuildKit's include patterns do; a pattern without wildcards must match something.
 */
import { SkiffError } from '../errors.ts';
import type { FileSystem } from '../fs/types.ts';
import type { BuildContext } from './context.ts';
import { cleanRelative } from './context-path.ts';
import type { Source, SourceItem } from './copy.ts';
import { resolvePath, walkTree } from './fs-write.ts';
import { IgnoreMatcher } from './ignore.ts';

type Item = SourceItem['item'];

function hasWildcards(p: string): boolean {
  return /[*?[]/.test(p);
}

/** The pivot (kept part starts after it) and the pattern, both relative. */
export function splitParents(src: string): { parent: string; pattern: string } {
  const i = src.indexOf('/./');
  if (i < 0) return { parent: '', pattern: cleanRelative(src) };
  return { parent: cleanRelative(src.slice(0, i)), pattern: cleanRelative(src.slice(i + 3)) };
}

/** One --parents source from `entries` (paths relative to the pivot, parents before children). */
function select(name: string, pattern: string, entries: Array<[string, Item]>, owners?: Map<string, { uid: number; gid: number }>): Source {
  const matcher = IgnoreMatcher.parse(pattern);
  const items: SourceItem[] = [{ rel: '', item: { kind: 'directory', mode: 0o755 } }];
  const dirsNeeded = new Set<string>();
  for (const [p, item] of entries) {
    if (!matcher.ignores(p)) continue;
    const parts = p.split('/');
    for (let k = 1; k < parts.length; k++) dirsNeeded.add(parts.slice(0, k).join('/'));
    const owner = owners?.get(p);
    items.push({ rel: p, item, ...(owner ? { owner } : {}) });
  }
  if (items.length === 1 && !hasWildcards(pattern)) throw new SkiffError('NOT_FOUND', `"/${pattern}": not found`);
  // The directories leading to a match are made with their own metadata.
  const have = new Set(items.map((x) => x.rel));
  const byPath = new Map(entries);
  const parents = [...dirsNeeded].filter((d) => !have.has(d)).sort().map((d) => ({ rel: d, item: byPath.get(d) ?? { kind: 'directory' as const, mode: 0o755 } }));
  return { name, base: '', isDir: true, items: [items[0]!, ...parents, ...items.slice(1)].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0)) };
}

export function contextParentsSources(ctx: BuildContext, names: string[]): Source[] {
  return names.map((name) => {
    const { parent, pattern } = splitParents(name);
    const prefix = parent ? `${parent}/` : '';
    const entries: Array<[string, Item]> = [];
    for (const [k, v] of ctx.entries) {
      if (prefix && !k.startsWith(prefix)) continue;
      entries.push([k.slice(prefix.length), { kind: v.type, mode: v.mode, data: v.data, ...(v.linkname !== undefined ? { linkname: v.linkname } : {}), ...(v.mtimeMs !== undefined ? { mtimeMs: v.mtimeMs } : {}) }]);
    }
    return select(name, pattern, entries);
  });
}

export function fsParentsSources(fs: FileSystem, names: string[]): Source[] {
  return names.map((name) => {
    const { parent, pattern } = splitParents(name);
    const root = resolvePath(fs, `/${parent}`);
    const entries: Array<[string, Item]> = [];
    // Files from another stage keep their owners (unless --chown).
    const owners = new Map<string, { uid: number; gid: number }>();
    // Only what the pattern selects is read: the stage may be a whole distribution.
    const matcher = IgnoreMatcher.parse(pattern);
    if (root && fs.stat(root).kind === 'directory') {
      for (const { path, node } of walkTree(fs, root)) {
        const st = fs.stat(node);
        owners.set(path, { uid: st.uid, gid: st.gid });
        if (st.kind === 'directory') entries.push([path, { kind: 'directory', mode: st.mode, mtimeMs: st.mtimeMs }]);
        else if (st.kind === 'symlink') entries.push([path, { kind: 'symlink', mode: 0o777, linkname: fs.readlink(node) }]);
        else if (st.kind === 'file') entries.push([path, { kind: 'file', mode: st.mode, data: st.size && matcher.ignores(path) ? fs.read(node, 0, st.size) : new Uint8Array(0), mtimeMs: st.mtimeMs }]);
      }
    }
    return select(name, pattern, entries, owners);
  });
}
