/**
 * Layer trees: the merged, immutable filesystem of an image's layers, built one layer at a time.
 * `applyLayer(base, entries)` returns a new tree that shares every untouched directory and file
 * with `base` (path copying), so N images and N containers over the same layers share memory, and
 * file bytes stay zero-copy views of the layer's decompressed buffer.
 *
 * Whiteouts follow the OCI image spec (layer.md): `.wh.name` deletes `name` from lower layers,
 * `.wh..wh..opq` hides every lower child of its directory, and neither touches entries of the
 * same layer (whiteouts are applied first, then the layer's entries).
 */
import { SkiffError } from '../errors.ts';
import type { TarEntry, TarHeader } from '../archive/types.ts';
import { FileContent } from './file-content.ts';
import { Inode } from './inode.ts';
import { OPAQUE_MARKER, splitEntryPath, WHITEOUT_PREFIX } from './path.ts';

export interface LayerTree {
  readonly root: Inode;
  /** Hard-linked inodes of this tree and their link counts (absent: one link). */
  readonly links: ReadonlyMap<Inode, number>;
}

/** A tar entry whose file bytes are read on demand (`content`, with `data` empty): engine/layer-index.ts. */
export interface LayerEntry extends TarEntry {
  content?: FileContent;
}

export interface ApplyLayerOptions {
  /** Copy file bytes instead of viewing the entry's buffer (when the caller reuses buffers). */
  copyData?: boolean;
  /**
   * Keep whiteouts as markers in the result instead of applying them to `base` (an overlay's
   * persisted upper layer: see `Overlay.fromUpper`). Used with `base` null.
   */
  keepWhiteouts?: boolean;
}

export function emptyLayerTree(): LayerTree {
  return { root: Inode.directory(0o755, 0, 0, 0), links: new Map() };
}

export function applyLayer(base: LayerTree | null, entries: Iterable<TarEntry>, options: ApplyLayerOptions = {}): LayerTree {
  const b = new LayerBuilder(base ?? emptyLayerTree(), options);
  const list = Array.isArray(entries) ? (entries as TarEntry[]) : [...entries];
  // A container's own saved upper may hold paths deeper than PATH_MAX (made with *at calls):
  // refuse those in image layers only, never when reopening the container.
  const pathMax = options.keepWhiteouts ? Infinity : undefined;
  const entryParts = (name: string): string[] => {
    const split = splitEntryPath(name, { pathMax });
    if (!split.ok) throw invalid(name, split.rule);
    return split.parts;
  };
  // Whiteouts first: they only ever apply to what the lower layers hold.
  for (const entry of list) {
    const name = entry.header.name;
    if (!name.includes(WHITEOUT_PREFIX)) continue;
    const parts = entryParts(name);
    if (isWhiteout(parts)) b.whiteout(name, parts);
  }
  for (const entry of list) {
    const name = entry.header.name;
    const parts = entryParts(name);
    if (name.includes(WHITEOUT_PREFIX) && isWhiteout(parts)) continue;
    b.add(entry, parts);
  }
  return { root: b.root, links: b.links };
}

function isWhiteout(parts: string[]): boolean {
  return parts.length > 0 && parts[parts.length - 1]!.startsWith(WHITEOUT_PREFIX);
}

function invalid(name: string, rule: string): SkiffError {
  const shown = name.length > 200 ? `${name.slice(0, 100)}...${name.slice(-60)}` : name;
  return new SkiffError('INVALID_ARCHIVE', `entry ${JSON.stringify(shown)}: ${rule}`);
}

class LayerBuilder {
  readonly root: Inode;
  links: Map<Inode, number>;
  /** Marks the inodes this layer's own entries made, to refuse duplicate entries. */
  readonly #mark = {};
  /** Paths of whiteouts and hard links: duplicates the marks cannot see. */
  readonly #seenPaths = new Set<string>();
  /** Inodes given an extra name by this layer's hard links: their names need the path check. */
  readonly #linked = new Set<Inode>();
  /** Directories created or copied by this call: the only ones it may mutate. */
  readonly #owned = new Set<Inode>();
  #linksOwned = false;
  readonly #opts: ApplyLayerOptions;

  constructor(base: LayerTree, opts: ApplyLayerOptions) {
    this.root = base.root.shallowCopy();
    this.#owned.add(this.root);
    this.links = base.links as Map<Inode, number>;
    this.#opts = opts;
  }

  #once(name: string, parts: string[]): void {
    const key = parts.join('/');
    if (this.#seenPaths.has(key)) throw invalid(name, 'duplicate entry in one layer');
    this.#seenPaths.add(key);
  }

  whiteout(name: string, parts: string[]): void {
    this.#once(name, parts);
    const leaf = parts[parts.length - 1]!;
    const dirParts = parts.slice(0, -1);
    const keep = this.#opts.keepWhiteouts === true;
    if (leaf === OPAQUE_MARKER) {
      const dir = this.#walk(name, dirParts, keep);
      if (!dir) return;
      if (keep) dir.opaque = true;
      else this.#clear(dir);
      return;
    }
    if (leaf.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // aufs metadata (.wh..wh.plnk): not ours
    const victim = leaf.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') throw invalid(name, 'whiteout names no file');
    const dir = this.#walk(name, dirParts, keep);
    if (!dir) return;
    if (keep) {
      this.#drop(dir, victim);
      dir.children!.set(victim, Inode.whiteout());
    } else this.#drop(dir, victim);
  }

  add(entry: TarEntry, parts: string[]): void {
    const h = entry.header;
    if (parts.length === 0) {
      if (h.type !== 'directory') throw invalid(h.name, 'the root must be a directory');
      if (this.root.layerMark === this.#mark) throw invalid(h.name, 'duplicate entry in one layer');
      this.root.layerMark = this.#mark;
      setAttrs(this.root, h);
      return;
    }
    const dir = this.#walk(h.name, parts.slice(0, -1), true)!;
    const leaf = parts[parts.length - 1]!;
    const existing = dir.children!.get(leaf);
    if (existing?.layerMark === this.#mark) throw invalid(h.name, 'duplicate entry in one layer');
    if (existing && h.type !== 'hardlink' && this.#linked.has(existing)) this.#once(h.name, parts);
    if (h.type === 'directory') {
      if (existing && existing.kind === 'directory') {
        const own = this.#own(dir, leaf, existing);
        own.layerMark = this.#mark;
        setAttrs(own, h);
        return;
      }
      this.#drop(dir, leaf);
      const d = Inode.directory(h.mode, h.uid, h.gid, 0);
      setAttrs(d, h);
      // In an upper layer, a directory over a whiteout is a deleted-and-recreated directory.
      if (existing?.kind === 'whiteout') d.opaque = true;
      d.layerMark = this.#mark;
      this.#owned.add(d);
      dir.children!.set(leaf, d);
      return;
    }
    let node: Inode;
    switch (h.type) {
      case 'file': {
        const lazy = (entry as LayerEntry).content;
        if (lazy) {
          if (lazy.size !== h.size) throw invalid(h.name, `data is ${lazy.size} bytes, header says ${h.size}`);
          node = Inode.file(h.mode, h.uid, h.gid, 0, lazy);
          break;
        }
        if (entry.data.length !== h.size) throw invalid(h.name, `data is ${entry.data.length} bytes, header says ${h.size}`);
        const bytes = this.#opts.copyData ? entry.data.slice() : entry.data;
        node = Inode.file(h.mode, h.uid, h.gid, 0, FileContent.fromBytes(bytes));
        break;
      }
      case 'symlink':
        if (h.linkname === '') throw invalid(h.name, 'symlink with an empty target');
        node = Inode.symlink(h.linkname, h.uid, h.gid, 0); // mode 0777 whatever the header says, as on Linux
        break;
      case 'chardev':
      case 'blockdev':
      case 'fifo':
        node = Inode.device(h.type, h.mode, h.uid, h.gid, 0, h.devmajor, h.devminor);
        break;
      case 'hardlink': {
        this.#once(h.name, parts);
        const target = this.#resolveLink(h);
        const tparts = (splitEntryPath(h.linkname) as { parts: string[] }).parts;
        if (existing === target) {
          if (tparts.join('/') === parts.join('/')) throw invalid(h.name, 'hardlink to itself');
          return; // already a name of that inode (tar would unlink and relink it): nothing changes
        }
        if (existing?.kind === 'directory' && parts.every((p, k) => tparts[k] === p))
          throw invalid(h.name, `hardlink target "${h.linkname}" is inside the directory this entry replaces`);
        this.#drop(dir, leaf);
        dir.children!.set(leaf, target);
        this.#linked.add(target);
        this.#ownLinks().set(target, (this.links.get(target) ?? 1) + 1);
        return;
      }
      default:
        throw invalid(h.name, `unsupported entry type ${String((h as TarHeader).type)}`);
    }
    if (h.type !== 'symlink') setAttrs(node, h);
    else setTimes(node, h);
    if (h.xattrs) setXattrs(node, h);
    node.layerMark = this.#mark;
    this.#drop(dir, leaf);
    dir.children!.set(leaf, node);
  }

  #resolveLink(h: TarHeader): Inode {
    const split = splitEntryPath(h.linkname);
    if (!split.ok) throw invalid(h.name, `hardlink target "${h.linkname}": ${split.rule}`);
    let cur = this.root;
    const parts = split.parts;
    if (parts.length === 0) throw invalid(h.name, 'hardlink to the root directory');
    for (let i = 0; i < parts.length; i++) {
      const next = cur.children?.get(parts[i]!);
      if (!next || next.kind === 'whiteout') throw invalid(h.name, `hardlink target "${h.linkname}" does not exist`);
      if (i < parts.length - 1) {
        if (next.kind === 'symlink') throw invalid(h.name, `hardlink target "${h.linkname}" goes through a symlink`);
        if (next.kind !== 'directory') throw invalid(h.name, `hardlink target "${h.linkname}" does not exist`);
      } else if (next.kind === 'directory') throw invalid(h.name, `hardlink target "${h.linkname}" is a directory`);
      cur = next;
    }
    return cur;
  }

  /**
   * The directory at `parts`, made mutable along the way. With `create`, missing directories are
   * implied (0755 root:root, as Docker does); without, a missing or non-directory step gives null.
   */
  #walk(name: string, parts: string[], create: boolean): Inode | null {
    let dir = this.root;
    for (const part of parts) {
      const child = dir.children!.get(part);
      if (child && child.kind === 'directory') {
        dir = this.#own(dir, part, child);
        continue;
      }
      if (!create) return null;
      if (child && child.kind === 'symlink') throw invalid(name, `parent "${part}" is a symlink (writing through a symlink)`);
      if (child && child.kind !== 'whiteout') throw invalid(name, `parent "${part}" is not a directory`);
      const d = Inode.directory(0o755, 0, 0, 0);
      if (child) d.opaque = true; // over a whiteout in an upper layer
      this.#owned.add(d);
      dir.children!.set(part, d);
      dir = d;
    }
    return dir;
  }

  #own(parent: Inode, name: string, dir: Inode): Inode {
    if (this.#owned.has(dir)) return dir;
    const copy = dir.shallowCopy();
    this.#owned.add(copy);
    parent.children!.set(name, copy);
    return copy;
  }

  #clear(dir: Inode): void {
    if (this.links.size > 0) for (const child of dir.children!.values()) this.#unlinkTree(child);
    dir.children = new Map();
  }

  #drop(dir: Inode, name: string): void {
    const old = dir.children!.get(name);
    if (!old) return;
    dir.children!.delete(name);
    if (this.links.size > 0) this.#unlinkTree(old);
  }

  #unlinkTree(top: Inode): void {
    const stack = [top];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const n = this.links.get(node);
      if (n !== undefined) {
        const links = this.#ownLinks();
        if (n <= 2) links.delete(node);
        else links.set(node, n - 1);
      }
      if (node.children) for (const child of node.children.values()) stack.push(child);
    }
  }

  #ownLinks(): Map<Inode, number> {
    if (!this.#linksOwned) {
      this.links = new Map(this.links);
      this.#linksOwned = true;
    }
    return this.links;
  }
}

function setTimes(node: Inode, h: TarHeader): void {
  node.mtimeMs = h.mtime * 1000;
  node.atimeMs = (h.atime ?? h.mtime) * 1000;
  node.ctimeMs = (h.ctime ?? h.mtime) * 1000;
}

function setAttrs(node: Inode, h: TarHeader): void {
  node.mode = h.mode & 0o7777;
  node.uid = h.uid;
  node.gid = h.gid;
  setTimes(node, h);
  // An entry carries the node's whole state: a directory entry over a lower one replaces its xattrs.
  setXattrs(node, h);
}

function setXattrs(node: Inode, h: TarHeader): void {
  if (!h.xattrs) {
    node.xattrs = null;
    return;
  }
  const entries = Object.entries(h.xattrs);
  node.xattrs = entries.length > 0 ? new Map(entries) : null;
}
