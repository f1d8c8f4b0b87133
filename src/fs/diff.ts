/**
 * What a container changed, three ways: `diffUpper` writes the upper tree as an OCI layer
 * (whiteouts, opaque markers, hard links) for commit and for saving a container; `changes` lists
 * A/C/D paths for `skiff diff`; `exportMerged` walks any FileSystem whole for `skiff export`.
 * Output order is deterministic: parents before children, names sorted by code unit.
 */
import type { TarEntry, TarEntryType, TarHeader } from '../archive/types.ts';
import { SkiffError } from '../errors.ts';
import type { Inode } from './inode.ts';
import type { Overlay } from './overlay.ts';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './path.ts';
import { retryAfterIO } from './pending-io.ts';
import type { FileSystem, FsNode, Stat } from './types.ts';

export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute path in the container, e.g. `/etc/passwd`. */
  path: string;
}

const EMPTY = new Uint8Array(0);

function sortedNames<T>(map: ReadonlyMap<string, T>): string[] {
  return [...map.keys()].sort(byCodeUnit);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function baseHeader(name: string, type: TarEntryType, s: { mode: number; uid: number; gid: number; mtimeMs: number }): TarHeader {
  return { name, type, mode: s.mode, uid: s.uid, gid: s.gid, size: 0, mtime: s.mtimeMs / 1000, linkname: '', devmajor: 0, devminor: 0 };
}

function xattrRecord(x: ReadonlyMap<string, Uint8Array> | null): Record<string, Uint8Array> | undefined {
  return x && x.size > 0 ? Object.fromEntries(x) : undefined;
}

/** The tar entry for an inode at `path` (directories get a trailing slash); null for sockets. */
function inodeEntry(path: string, i: Inode): TarEntry | null {
  switch (i.kind) {
    case 'directory':
    case 'file':
    case 'symlink':
    case 'chardev':
    case 'blockdev':
    case 'fifo': {
      const h = baseHeader(i.kind === 'directory' ? `${path}/` : path, i.kind, i);
      const xattrs = xattrRecord(i.xattrs);
      if (xattrs) h.xattrs = xattrs;
      if (i.kind === 'symlink') h.linkname = i.target;
      h.devmajor = i.rdevMajor;
      h.devminor = i.rdevMinor;
      if (i.kind === 'file') {
        const data = wholeFile(path, () => i.content!.bytes());
        h.size = data.length;
        return { header: h, data };
      }
      return { header: h, data: EMPTY };
    }
    default:
      return null; // sockets have no tar form; whiteouts are written by the caller
  }
}

/** A tar entry holds a file in one buffer: say which file did not fit instead of a bare RangeError. */
function wholeFile(path: string, read: () => Uint8Array): Uint8Array {
  try {
    return read();
  } catch (e) {
    if (e instanceof RangeError) throw new SkiffError('UNSUPPORTED', `file "${path}" is too large to hold in one buffer`, { cause: e });
    throw e;
  }
}

function whiteoutEntry(path: string): TarEntry {
  return { header: baseHeader(path, 'file', { mode: 0, uid: 0, gid: 0, mtimeMs: 0 }), data: EMPTY };
}

export interface DiffUpperOptions {
  /**
   * Write a recreated directory as `.wh..wh..opq` instead of one `.wh.` whiteout per lower child.
   * The image spec says writers SHOULD use explicit whiteouts (the default) and readers MUST accept both.
   */
  opaqueMarkers?: boolean;
}

/** The overlay's upper tree as an OCI layer diff, applicable on top of its lower tree. */
export function diffUpper(overlay: Overlay, options: DiffUpperOptions = {}): TarEntry[] {
  const upper = overlay.upperTree;
  const lowerRoot = overlay.lowerTree.root;
  const markers = options.opaqueMarkers === true;
  const out: TarEntry[] = [];
  const firstPath = new Map<Inode, string>();
  const r = upper.root;
  const rootChanged =
    r.mode !== lowerRoot.mode || r.uid !== lowerRoot.uid || r.gid !== lowerRoot.gid || !sameXattrs(r.xattrs, lowerRoot.xattrs);
  if (rootChanged) out.push(inodeEntry('.', r)!);
  // Depth-first, parents first, with an explicit stack: container-made trees can be deeper than
  // the call stack. `lowerHere` is the lower directory at a path (hidden or not), if any.
  type Task = { enter: true; dir: Inode; lowerHere: Inode | null; prefix: string } | { enter: false; name: string; node: Inode; visibleLower: Inode | null; prefix: string };
  const stack: Task[] = [{ enter: true, dir: r, lowerHere: lowerRoot, prefix: '' }];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t.enter) {
      const { dir, lowerHere, prefix } = t;
      const children = dir.children!;
      const names = sortedNames(children);
      if (dir.opaque && lowerHere && lowerHere.children!.size > 0 && markers) out.push(whiteoutEntry(prefix + OPAQUE_MARKER));
      // Whiteouts before their siblings, as the image spec asks of layer writers. Explicit
      // whiteouts of a recreated directory also cover the names it recreates: whiteouts apply
      // first, so `.wh.x` plus `x/` in one layer replaces x instead of merging into it.
      const gone = new Set<string>();
      for (const name of names) if (children.get(name)!.kind === 'whiteout') gone.add(name);
      if (dir.opaque && lowerHere && !markers) for (const name of lowerHere.children!.keys()) gone.add(name);
      for (const name of [...gone].sort(byCodeUnit)) out.push(whiteoutEntry(prefix + WHITEOUT_PREFIX + name));
      const visibleLower = dir.opaque ? null : lowerHere;
      for (let k = names.length - 1; k >= 0; k--) {
        const node = children.get(names[k]!)!;
        if (node.kind !== 'whiteout') stack.push({ enter: false, name: names[k]!, node, visibleLower, prefix });
      }
      continue;
    }
    const { name, node: i, visibleLower, prefix } = t;
    const path = prefix + name;
    if (i.kind !== 'directory' && (upper.links.get(i) ?? 1) > 1) {
      const first = firstPath.get(i);
      if (first !== undefined) {
        const h = baseHeader(path, 'hardlink', i);
        h.linkname = first;
        out.push({ header: h, data: EMPTY });
        continue;
      }
      firstPath.set(i, path);
    }
    const e = inodeEntry(path, i);
    if (e) out.push(e);
    if (i.kind === 'directory') {
      const l = visibleLower?.children!.get(name);
      stack.push({ enter: true, dir: i, lowerHere: l?.kind === 'directory' ? l : null, prefix: `${path}/` });
    }
  }
  return out;
}

function sameXattrs(a: ReadonlyMap<string, Uint8Array> | null, b: ReadonlyMap<string, Uint8Array> | null): boolean {
  const na = a?.size ?? 0;
  if (na !== (b?.size ?? 0)) return false;
  if (na === 0) return true;
  for (const [k, v] of a!) {
    const w = b!.get(k);
    if (!w || w.length !== v.length || w.some((x, j) => x !== v[j])) return false;
  }
  return true;
}

/** `docker diff`: A(dded), C(hanged) and D(eleted) paths of the upper tree, sorted by path. */
export function changes(overlay: Overlay): Change[] {
  const out: Change[] = [];
  const stack: [up: Inode, low: Inode | null, prefix: string][] = [[overlay.upperTree.root, overlay.lowerTree.root, '']];
  while (stack.length > 0) {
    const [up, low, prefix] = stack.pop()!;
    const lowKids = low?.kind === 'directory' && !up.opaque ? low.children! : null;
    for (const [name, i] of up.children!) {
      const path = `${prefix}/${name}`;
      const l = lowKids?.get(name) ?? null;
      if (i.kind === 'whiteout') {
        if (l) out.push({ kind: 'D', path });
        continue;
      }
      out.push({ kind: l ? 'C' : 'A', path });
      if (i.kind === 'directory') stack.push([i, l, path]);
    }
    // An opaque directory hides every lower child it did not replace.
    if (up.opaque && low?.kind === 'directory') {
      for (const name of low.children!.keys()) if (!up.children!.has(name)) out.push({ kind: 'D', path: `${prefix}/${name}` });
    }
  }
  return out.sort((a, b) => byCodeUnit(a.path, b.path));
}

/** Every node of `fs` as tar entries, root ('./') first, parents before children, links kept. */
export function* exportMerged(fs: FileSystem): Generator<TarEntry> {
  for (const e of mergedWalk(fs)) {
    const node = e.node;
    if (node) withData(e, wholeFile(e.header.name, () => fs.read(node, 0, e.header.size)));
    yield e;
  }
}

/**
 * exportMerged for filesystems whose reads may wait (image bytes in IndexedDB): each file's bytes
 * are awaited when the synchronous read says they are on their way (fs/pending-io.ts).
 */
export async function* exportMergedAsync(fs: FileSystem): AsyncGenerator<TarEntry> {
  for (const e of mergedWalk(fs)) {
    const node = e.node;
    if (node) withData(e, await retryAfterIO(() => wholeFile(e.header.name, () => fs.read(node, 0, e.header.size))));
    yield e;
  }
}

/** A file entry (header.size the stat's) takes its bytes; `node` is dropped. */
function withData(e: WalkEntry, data: Uint8Array): void {
  e.data = data;
  e.header.size = data.length;
  delete e.node;
}

/** A merged tree's entries in export order; a file's entry carries its node for the caller to read. */
type WalkEntry = TarEntry & { node?: FsNode };

function* mergedWalk(fs: FileSystem): Generator<WalkEntry> {
  const seen = new Map<number, string>();
  const root = fs.root();
  yield statEntry(fs, root, fs.stat(root), './')!;
  // Explicit stack (deep trees), children pushed in reverse so they come out in sorted order.
  const stack: { dir: FsNode; name: string; prefix: string }[] = [];
  const pushChildren = (dir: FsNode, prefix: string) => {
    const list = fs.readdir(dir).sort((a, b) => byCodeUnit(b.name, a.name));
    for (const d of list) stack.push({ dir, name: d.name, prefix });
  };
  pushChildren(root, '');
  while (stack.length > 0) {
    const { dir, name, prefix } = stack.pop()!;
    const node = fs.lookup(dir, name);
    const s = fs.stat(node);
    const path = prefix + name;
    if (s.kind !== 'directory' && s.nlink > 1) {
      const first = seen.get(s.ino);
      if (first !== undefined) {
        const h = baseHeader(path, 'hardlink', s);
        h.linkname = first;
        yield { header: h, data: EMPTY };
        continue;
      }
      seen.set(s.ino, path);
    }
    const e = statEntry(fs, node, s, s.kind === 'directory' ? `${path}/` : path);
    if (e) yield e;
    if (s.kind === 'directory') pushChildren(node, `${path}/`);
  }
}

function statEntry(fs: FileSystem, node: FsNode, s: Stat, name: string): WalkEntry | null {
  if (s.kind === 'socket') return null;
  const h = baseHeader(name, s.kind, s);
  const names = fs.listxattr(node);
  if (names.length > 0) h.xattrs = Object.fromEntries(names.map((n) => [n, fs.getxattr(node, n)]));
  h.devmajor = s.rdevMajor;
  h.devminor = s.rdevMinor;
  if (s.kind === 'symlink') h.linkname = fs.readlink(node);
  if (s.kind === 'file') {
    h.size = s.size;
    return { header: h, data: EMPTY, node };
  }
  return { header: h, data: EMPTY };
}
