/**
 * Path-level writes into a build step's overlay (COPY, ADD, WORKDIR): resolving paths with the
 * image's symlinks (clamped to the root, as a chroot would), creating parents, replacing files.
 */
import type { FileSystem, FsNode } from '../fs/types.ts';
import { cleanPath } from '../runtime/spec/volumes.ts';

export function splitPath(p: string): string[] {
  return p.split('/').filter((x) => x !== '' && x !== '.');
}

/** The node at `path`, symlinks followed (the last one only with `follow`); undefined if absent. */
export function resolvePath(fs: FileSystem, path: string, follow = true): FsNode | undefined {
  const todo = splitPath(path).reverse();
  const stack: FsNode[] = [fs.root()];
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    let node: FsNode;
    try {
      node = fs.lookup(stack.at(-1)!, name);
    } catch {
      return undefined;
    }
    const st = fs.stat(node);
    if (st.kind === 'symlink' && (todo.length > 0 || follow)) {
      if (++hops > 40) return undefined;
      const target = fs.readlink(node);
      if (target.startsWith('/')) stack.length = 1;
      todo.push(...splitPath(target).reverse());
      continue;
    }
    stack.push(node);
  }
  return stack.at(-1)!;
}

export function isDir(fs: FileSystem, path: string): boolean {
  const n = resolvePath(fs, path);
  return n !== undefined && fs.stat(n).kind === 'directory';
}

export interface Owner {
  uid: number;
  gid: number;
}

/** mkdir -p; new directories get `mode` and `owner`. Returns the last directory. */
export function mkdirAll(fs: FileSystem, path: string, owner: Owner, mode = 0o755, depth = 0): FsNode {
  let cur = fs.root();
  let sofar = '';
  for (const name of splitPath(path)) {
    sofar += `/${name}`;
    const existing = resolvePath(fs, sofar);
    if (existing && fs.stat(existing).kind === 'directory') {
      cur = existing;
      continue;
    }
    // A symlink to a missing directory: the directory is made where it points (inside the
    // root), as a copy through it in BuildKit does; the link stays.
    const link = hasEntry(fs, cur, name) ? fs.lookup(cur, name) : undefined;
    if (link && fs.stat(link).kind === 'symlink' && depth < 40) {
      const target = fs.readlink(link);
      const base = target.startsWith('/') ? target : `${sofar.split('/').slice(0, -1).join('/')}/${target}`;
      sofar = cleanPath(base);
      cur = mkdirAll(fs, sofar, owner, mode, depth + 1);
      continue;
    }
    if (hasEntry(fs, cur, name)) removeEntry(fs, cur, name);
    cur = fs.mkdir(cur, name, { mode, uid: owner.uid, gid: owner.gid });
  }
  return cur;
}

function hasEntry(fs: FileSystem, dir: FsNode, name: string): boolean {
  try {
    fs.lookup(dir, name);
    return true;
  } catch {
    return false;
  }
}

/** Removes whatever is at dir/name (a directory recursively). */
export function removeEntry(fs: FileSystem, dir: FsNode, name: string): void {
  let node: FsNode;
  try {
    node = fs.lookup(dir, name);
  } catch {
    return;
  }
  if (fs.stat(node).kind === 'directory') {
    for (const e of fs.readdir(node)) if (e.name !== '.' && e.name !== '..') removeEntry(fs, node, e.name);
    fs.unlink(dir, name, { directory: true });
  } else fs.unlink(dir, name);
}

export interface WriteItem {
  kind: 'file' | 'directory' | 'symlink';
  mode: number;
  owner: Owner;
  data?: Uint8Array;
  linkname?: string;
  mtimeMs?: number;
}

/** Writes one item at `path` (parents made with `parentOwner` and `parentMode`); an existing non-directory is replaced. */
export function writeItem(fs: FileSystem, path: string, item: WriteItem, parentOwner: Owner, parentMode = 0o755): void {
  const parts = splitPath(path);
  const name = parts.pop();
  if (name === undefined) {
    if (item.kind === 'directory') fs.setattr(fs.root(), { mode: item.mode, uid: item.owner.uid, gid: item.owner.gid });
    return;
  }
  const dir = mkdirAll(fs, `/${parts.join('/')}`, parentOwner, parentMode);
  let existing: FsNode | undefined;
  try {
    existing = fs.lookup(dir, name);
  } catch {
    existing = undefined;
  }
  if (existing) {
    const kind = fs.stat(existing).kind;
    if (item.kind === 'directory' && kind === 'directory') {
      fs.setattr(existing, { mode: item.mode, uid: item.owner.uid, gid: item.owner.gid, ...(item.mtimeMs !== undefined ? { mtimeMs: item.mtimeMs } : {}) });
      return;
    }
    removeEntry(fs, dir, name);
  }
  const attr = { mode: item.mode, uid: item.owner.uid, gid: item.owner.gid };
  if (item.kind === 'directory') {
    const d = fs.mkdir(dir, name, attr);
    if (item.mtimeMs !== undefined) fs.setattr(d, { mtimeMs: item.mtimeMs });
  } else if (item.kind === 'symlink') {
    fs.symlink(dir, name, item.linkname ?? '', { uid: item.owner.uid, gid: item.owner.gid });
  } else {
    const f = fs.create(dir, name, attr);
    if (item.data && item.data.byteLength) fs.write(f, 0, item.data);
    fs.setattr(f, { mode: item.mode, ...(item.mtimeMs !== undefined ? { mtimeMs: item.mtimeMs } : {}) });
  }
}

/** Every entry under `node` (a directory), relative paths, parents first. */
export function* walkTree(fs: FileSystem, node: FsNode, prefix = ''): Generator<{ path: string; node: FsNode }> {
  for (const e of fs.readdir(node).filter((x) => x.name !== '.' && x.name !== '..').sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const n = fs.lookup(node, e.name);
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    yield { path, node: n };
    if (fs.stat(n).kind === 'directory') yield* walkTree(fs, n, path);
  }
}
