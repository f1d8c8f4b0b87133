/**
 * An overlay's upper tree as snapshot records, like a filesystem's own on-disk form: one record
 * per inode (`i<id>`: kind, mode, owner, times, xattrs, symlink target, device numbers, opaque
 * flag, size), one per directory entry (`d<dir id>/<name>` -> child id, or `w` for a whiteout) and
 * one per stored 64 KiB chunk of a file (`c<id>.<index>`; holes have none). No record holds a
 * path, so a path of any depth reopens, a rename rewrites two entries, and a 5 GiB sparse file is
 * as many records as it has data chunks.
 *
 * `UpperTracker` remembers what the store holds and turns the overlay's change notices into the
 * batch that brings the store up to date: inodes and chunks that changed, entries added or removed,
 * and everything no entry reaches any more. Its cost follows the change, not the layer.
 */
import { fromBase64, toBase64 } from '../../util/base64.ts';
import { CHUNK_SIZE, FileContent } from '../../fs/file-content.ts';
import { Inode, type InodeKind } from '../../fs/inode.ts';
import type { LayerTree } from '../../fs/layer.ts';
import { SkiffError } from '../../errors.ts';
import type { RecordOp } from './store.ts';

const ROOT = 0;
const WHITEOUT = 'w';
const enc = new TextEncoder();
const dec = new TextDecoder();

interface InodeDoc {
  k: InodeKind;
  m: number;
  u: number;
  g: number;
  a: number;
  t: number;
  c: number;
  s?: number;
  l?: string;
  r?: [number, number];
  o?: 1;
  x?: Record<string, string>;
}

/** What the store holds for one inode. */
interface Stored {
  inode: Inode;
  /** Directory entries as stored: name -> child id or whiteout. */
  dirents: Map<string, number | typeof WHITEOUT> | null;
  /** Chunk records may exist below this index. */
  chunks: number;
  /** Directory entries naming this inode. */
  refs: number;
}

export class UpperTracker {
  readonly #ids = new Map<Inode, number>();
  readonly #stored = new Map<number, Stored>();
  readonly #changed = new Set<Inode>();
  #next = ROOT + 1;

  /** Starts from records as a store returned them; `fallbackRoot` when there are none. */
  static load(records: ReadonlyMap<string, Uint8Array>, fallbackRoot: () => Inode): { tracker: UpperTracker; tree: LayerTree } {
    const t = new UpperTracker();
    const chunks = new Map<number, Array<[number, Uint8Array]>>();
    const entries: Array<[number, string, string]> = [];
    for (const [key, value] of records) {
      const kind = key[0];
      if (kind === 'i') {
        const id = Number(key.slice(1));
        t.#adopt(id, inodeFromDoc(JSON.parse(dec.decode(value)) as InodeDoc, key));
      } else if (kind === 'd') {
        const slash = key.indexOf('/');
        entries.push([Number(key.slice(1, slash)), key.slice(slash + 1), dec.decode(value)]);
      } else if (kind === 'c') {
        const dot = key.indexOf('.');
        const id = Number(key.slice(1, dot));
        let list = chunks.get(id);
        if (!list) chunks.set(id, (list = []));
        list.push([Number(key.slice(dot + 1)), value]);
      }
    }
    if (!t.#stored.has(ROOT)) t.#adopt(ROOT, fallbackRoot());
    for (const [dir, name, v] of entries) {
      const d = t.#stored.get(dir);
      if (!d?.dirents) throw corrupt(`entry ${JSON.stringify(name)} in ${dir}, which is not a directory`);
      if (v === WHITEOUT) {
        d.dirents.set(name, WHITEOUT);
        d.inode.children!.set(name, Inode.whiteout());
        continue;
      }
      const child = t.#stored.get(Number(v));
      if (!child) throw corrupt(`entry ${JSON.stringify(name)} names missing inode ${v}`);
      d.dirents.set(name, Number(v));
      d.inode.children!.set(name, child.inode);
      child.refs++;
    }
    for (const [id, list] of chunks) {
      const s = t.#stored.get(id);
      if (!s?.inode.content) continue;
      const c = s.inode.content;
      const size = c.size;
      list.sort((a, b) => a[0] - b[0]);
      for (const [ci, bytes] of list) {
        const base = ci * CHUNK_SIZE;
        if (base < size) c.write(base, bytes.subarray(0, Math.min(bytes.length, size - base)));
        s.chunks = Math.max(s.chunks, ci + 1);
      }
      c.truncate(size);
      c.takeChanges();
    }
    const links = new Map<Inode, number>();
    for (const s of t.#stored.values()) if (s.refs > 1 && s.inode.kind !== 'directory') links.set(s.inode, s.refs);
    return { tracker: t, tree: { root: t.#stored.get(ROOT)!.inode, links } };
  }

  /** For `Overlay`'s `onChange`. */
  readonly notice = (inode: Inode): void => {
    this.#changed.add(inode);
  };

  get pending(): boolean {
    return this.#changed.size > 0;
  }

  /**
   * Brings the image bytes of changed files into memory before `ops()` reads them synchronously:
   * from an asynchronous store (IndexedDB) they would not be there. A no-op where reads are sync.
   */
  async prepare(): Promise<void> {
    for (const i of this.#changed) if (i.kind === 'file' && i.content) await i.content.materialize();
  }

  /**
   * The batch that brings the store up to date, computed as it is consumed (chunk bytes are read
   * one at a time). Consume it whole and commit it: the tracker counts it as stored.
   */
  *ops(): Generator<RecordOp> {
    const work: Inode[] = [];
    for (const i of this.#changed) if (this.#ids.has(i)) work.push(i);
    this.#changed.clear();
    const fresh = new Set<Inode>();
    const touched: Inode[] = [];
    const orphans = new Set<number>();
    while (work.length > 0) {
      const i = work.pop()!;
      touched.push(i);
      if (i.kind !== 'directory') continue;
      const s = this.#stored.get(this.#ids.get(i)!)!;
      const before = s.dirents ?? new Map();
      const now = new Map<string, number | typeof WHITEOUT>();
      for (const [name, child] of i.children!) {
        let v: number | typeof WHITEOUT = WHITEOUT;
        if (child.kind !== 'whiteout') {
          let cid = this.#ids.get(child);
          if (cid === undefined) {
            cid = this.#adopt(this.#next++, child, true);
            fresh.add(child);
            work.push(child);
          }
          v = cid;
        }
        now.set(name, v);
        const old = before.get(name);
        if (old === v) continue;
        yield { key: direntKey(s, name, this), value: enc.encode(String(v)) };
        if (v !== WHITEOUT) this.#stored.get(v)!.refs++;
        if (old !== undefined && old !== WHITEOUT) this.#unref(old, orphans);
      }
      for (const [name, old] of before) {
        if (now.has(name)) continue;
        yield { key: direntKey(s, name, this), value: null };
        if (old !== WHITEOUT) this.#unref(old, orphans);
      }
      s.dirents = now;
    }
    const seen = new Set<Inode>();
    for (const i of touched) {
      if (seen.has(i)) continue;
      seen.add(i);
      const id = this.#ids.get(i)!;
      const s = this.#stored.get(id)!;
      if (id !== ROOT && s.refs === 0) continue; // unlinked: dropped below
      yield { key: `i${id}`, value: enc.encode(JSON.stringify(inodeDoc(i))) };
      if (i.kind === 'file') yield* this.#chunkOps(id, s, fresh.has(i));
    }
    for (const id of orphans) if (this.#stored.get(id)?.refs === 0) yield* this.#drop(id);
  }

  *#chunkOps(id: number, s: Stored, all: boolean): Generator<RecordOp> {
    const c = s.inode.content!;
    const count = Math.ceil(c.size / CHUNK_SIZE);
    const changed = c.takeChanges();
    const list = all ? Array.from({ length: count }, (_, k) => k) : changed;
    for (const ci of list) {
      if (ci >= count) continue;
      const key = `c${id}.${ci}`;
      if (c.isHole(ci)) {
        if (!all) yield { key, value: null };
        continue;
      }
      yield { key, value: c.read(ci * CHUNK_SIZE, Math.min(CHUNK_SIZE, c.size - ci * CHUNK_SIZE)) };
    }
    for (let ci = count; ci < s.chunks; ci++) yield { key: `c${id}.${ci}`, value: null };
    s.chunks = count;
  }

  /** Records of an inode no entry names any more, and of what only it named. */
  *#drop(id: number): Generator<RecordOp> {
    const stack = [id];
    while (stack.length > 0) {
      const cur = stack.pop()!;
      const s = this.#stored.get(cur);
      if (!s) continue;
      yield { key: `i${cur}`, value: null };
      for (let ci = 0; ci < s.chunks; ci++) yield { key: `c${cur}.${ci}`, value: null };
      for (const [name, v] of s.dirents ?? []) {
        yield { key: `d${cur}/${name}`, value: null };
        if (v !== WHITEOUT) {
          const child = this.#stored.get(v);
          if (child && --child.refs === 0) stack.push(v);
        }
      }
      this.#stored.delete(cur);
      this.#ids.delete(s.inode);
    }
  }

  #unref(id: number, orphans: Set<number>): void {
    const s = this.#stored.get(id);
    if (s && --s.refs === 0) orphans.add(id);
  }

  #adopt(id: number, inode: Inode, isNew = false): number {
    this.#ids.set(inode, id);
    this.#stored.set(id, { inode, dirents: inode.kind === 'directory' ? new Map() : null, chunks: 0, refs: 0 });
    if (!isNew && id >= this.#next) this.#next = id + 1;
    if (isNew && inode.kind === 'directory') this.#stored.get(id)!.dirents = new Map();
    return id;
  }

  /** Treats the whole tree under the root as unsaved (a layer saved in the old tar form). */
  adoptRoot(root: Inode): void {
    this.#adopt(ROOT, root);
    this.#changed.add(root);
  }

  /** @internal */
  idOf(i: Inode): number {
    return this.#ids.get(i)!;
  }
}

function direntKey(s: Stored, name: string, t: UpperTracker): string {
  return `d${t.idOf(s.inode)}/${name}`;
}

function inodeDoc(i: Inode): InodeDoc {
  const d: InodeDoc = { k: i.kind, m: i.mode, u: i.uid, g: i.gid, a: i.atimeMs, t: i.mtimeMs, c: i.ctimeMs };
  if (i.kind === 'file') d.s = i.content!.size;
  if (i.kind === 'symlink') d.l = i.target;
  if (i.rdevMajor || i.rdevMinor) d.r = [i.rdevMajor, i.rdevMinor];
  if (i.opaque) d.o = 1;
  if (i.xattrs?.size) d.x = Object.fromEntries([...i.xattrs].map(([k, v]) => [k, toBase64(v)]));
  return d;
}

function inodeFromDoc(d: InodeDoc, key: string): Inode {
  let i: Inode;
  switch (d.k) {
    case 'directory':
      i = Inode.directory(d.m, d.u, d.g, d.t);
      i.opaque = d.o === 1;
      break;
    case 'file':
      i = Inode.file(d.m, d.u, d.g, d.t, FileContent.empty());
      i.content!.truncate(d.s ?? 0);
      break;
    case 'symlink':
      i = Inode.symlink(d.l ?? '', d.u, d.g, d.t);
      break;
    case 'chardev':
    case 'blockdev':
    case 'fifo':
    case 'socket':
      i = Inode.device(d.k, d.m, d.u, d.g, d.t, d.r?.[0] ?? 0, d.r?.[1] ?? 0);
      break;
    default:
      throw corrupt(`${key} has kind ${String(d.k)}`);
  }
  i.atimeMs = d.a;
  i.mtimeMs = d.t;
  i.ctimeMs = d.c;
  if (d.x) i.xattrs = new Map(Object.entries(d.x).map(([k, v]) => [k, fromBase64(v)]));
  return i;
}

function corrupt(what: string): SkiffError {
  return new SkiffError('STORAGE', `reading a stored layer: ${what}`);
}
