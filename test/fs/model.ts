/**
 * A deliberately naive reference filesystem for property tests: one mutable tree, hard links are
 * shared objects, every check spelled out. The overlay must behave exactly like this.
 */
import type { TarEntry } from '../../src/archive/types.ts';
import type { Inode } from '../../src/fs/inode.ts';
import type { LayerTree } from '../../src/fs/layer.ts';

type Kind = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

export class MNode {
  kind: Kind;
  mode: number;
  uid = 0;
  gid = 0;
  data: Uint8Array = new Uint8Array(0);
  target = '';
  rdev = [0, 0];
  children: Map<string, MNode> | null;
  xattrs = new Map<string, string>();
  constructor(kind: Kind, mode: number) {
    this.kind = kind;
    this.mode = mode;
    this.children = kind === 'directory' ? new Map() : null;
  }
}

function xattrsOf(x: Record<string, Uint8Array> | undefined): Map<string, string> {
  const dec = new TextDecoder();
  return new Map(Object.entries(x ?? {}).map(([k, v]) => [k, dec.decode(v)]));
}

export class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
const fail = (code: string): never => {
  throw new ModelError(code);
};

export class Model {
  root = new MNode('directory', 0o755);

  static fromTree(tree: LayerTree): Model {
    const m = new Model();
    const seen = new Map<Inode, MNode>();
    const dec = new TextDecoder();
    const conv = (i: Inode): MNode => {
      const known = seen.get(i);
      if (known) return known;
      const n = new MNode(i.kind as Kind, i.mode);
      seen.set(i, n);
      n.uid = i.uid;
      n.gid = i.gid;
      if (i.content) n.data = i.content.read(0, i.content.size);
      n.target = i.target;
      n.rdev = [i.rdevMajor, i.rdevMinor];
      for (const [k, v] of i.xattrs ?? []) n.xattrs.set(k, dec.decode(v));
      if (i.children) for (const [name, c] of i.children) n.children!.set(name, conv(c));
      return n;
    };
    m.root = conv(tree.root);
    return m;
  }

  lookup(path: string[]): MNode {
    let n = this.root;
    for (const p of path) {
      if (n.kind !== 'directory') fail('ENOTDIR');
      n = n.children!.get(p) ?? fail('ENOENT');
    }
    return n;
  }

  dir(path: string[]): MNode {
    const d = this.lookup(path);
    if (d.kind !== 'directory') fail('ENOTDIR');
    return d;
  }

  add(dirPath: string[], name: string, node: MNode): void {
    const d = this.dir(dirPath);
    if (d.children!.has(name)) fail('EEXIST');
    d.children!.set(name, node);
  }

  unlink(dirPath: string[], name: string, directory: boolean): void {
    const d = this.dir(dirPath);
    const c = d.children!.get(name) ?? fail('ENOENT');
    if (directory) {
      if (c.kind !== 'directory') fail('ENOTDIR');
      if (c.children!.size > 0) fail('ENOTEMPTY');
    } else if (c.kind === 'directory') fail('EISDIR');
    d.children!.delete(name);
  }

  link(dirPath: string[], name: string, target: string[]): void {
    const t = this.lookup(target);
    const d = this.lookup(dirPath);
    if (d.kind !== 'directory') fail('ENOTDIR');
    if (d.children!.has(name)) fail('EEXIST');
    if (t.kind === 'directory') fail('EPERM');
    d.children!.set(name, t);
  }

  rename(odPath: string[], on: string, ndPath: string[], nn: string): void {
    const od = this.lookup(odPath);
    const nd = this.lookup(ndPath);
    if (od.kind !== 'directory' || nd.kind !== 'directory') fail('ENOTDIR');
    const src = od.children!.get(on) ?? fail('ENOENT');
    const dst = nd.children!.get(nn);
    const ancestors = (p: string[]) => Array.from({ length: p.length + 1 }, (_, k) => this.lookup(p.slice(0, k)));
    if (ancestors(ndPath).includes(src)) fail('EINVAL'); // into itself
    if (dst && ancestors(odPath).includes(dst)) fail('ENOTEMPTY'); // over its own ancestor
    if (dst === src) return;
    if (dst) {
      if (src.kind === 'directory' && dst.kind !== 'directory') fail('ENOTDIR');
      if (src.kind !== 'directory' && dst.kind === 'directory') fail('EISDIR');
      if (dst.kind === 'directory' && dst.children!.size > 0) fail('ENOTEMPTY');
    }
    od.children!.delete(on);
    nd.children!.set(nn, src);
  }

  write(path: string[], offset: number, data: Uint8Array): void {
    const n = this.lookup(path);
    if (n.kind === 'directory') fail('EISDIR');
    if (n.kind !== 'file') fail('EINVAL');
    const end = Math.max(n.data.length, offset + data.length);
    const out = new Uint8Array(end);
    out.set(n.data);
    out.set(data, offset);
    n.data = out;
  }

  truncate(path: string[], size: number): void {
    const n = this.lookup(path);
    if (n.kind === 'directory') fail('EISDIR');
    if (n.kind !== 'file') fail('EINVAL');
    const out = new Uint8Array(size);
    out.set(n.data.subarray(0, Math.min(size, n.data.length)));
    n.data = out;
  }

  /** Naive OCI layer application: whiteouts first, then entries, parents made as needed. */
  applyLayer(entries: TarEntry[]): void {
    const parts = (p: string) => p.split('/').filter((x) => x !== '' && x !== '.');
    const dirOf = (ps: string[], create: boolean): MNode | null => {
      let d = this.root;
      for (const p of ps) {
        let c = d.children!.get(p);
        if (!c || c.kind !== 'directory') {
          if (!create) return null;
          c = new MNode('directory', 0o755);
          d.children!.set(p, c);
        }
        d = c;
      }
      return d;
    };
    for (const e of entries) {
      const ps = parts(e.header.name);
      const leaf = ps.pop()!;
      if (!leaf.startsWith('.wh.')) continue;
      const d = dirOf(ps, false);
      if (!d) continue;
      if (leaf === '.wh..wh..opq') d.children!.clear();
      else d.children!.delete(leaf.slice(4));
    }
    for (const e of entries) {
      const h = e.header;
      const ps = parts(h.name);
      const leaf = ps.pop();
      if (leaf === undefined) {
        this.root.mode = h.mode;
        continue;
      }
      if (leaf.startsWith('.wh.')) continue;
      const d = dirOf(ps, true)!;
      const old = d.children!.get(leaf);
      if (h.type === 'directory' && old?.kind === 'directory') {
        // The entry is the directory's new metadata; its children stay.
        Object.assign(old, { mode: h.mode, uid: h.uid, gid: h.gid, xattrs: xattrsOf(h.xattrs) });
        continue;
      }
      let n: MNode;
      if (h.type === 'hardlink') n = this.lookup(parts(h.linkname));
      else {
        n = new MNode(h.type as Kind, h.type === 'symlink' ? 0o777 : h.mode);
        n.uid = h.uid;
        n.gid = h.gid;
        n.data = e.data;
        n.target = h.linkname;
        n.rdev = [h.devmajor, h.devminor];
        n.xattrs = xattrsOf(h.xattrs);
      }
      d.children!.set(leaf, n);
    }
  }

  /** Same format as helpers.dumpFs. */
  dump(): string[] {
    const counts = new Map<MNode, number>();
    const count = (n: MNode): void => {
      for (const c of n.children!.values()) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
        if (c.kind === 'directory') count(c);
      }
    };
    count(this.root);
    const dec = new TextDecoder();
    const lines: string[] = [];
    const first = new Map<MNode, string>();
    const walk = (n: MNode, path: string): void => {
      const nlink = n.kind === 'directory' ? 2 + [...n.children!.values()].filter((c) => c.kind === 'directory').length : (counts.get(n) ?? 1);
      let line = `${path || '/'} ${n.kind} ${n.mode.toString(8)} ${n.uid}:${n.gid} n${nlink}`;
      if (n.kind === 'file') line += ` "${dec.decode(n.data)}"`;
      if (n.kind === 'symlink') line += ` -> ${n.target}`;
      if (n.kind === 'chardev' || n.kind === 'blockdev') line += ` ${n.rdev[0]},${n.rdev[1]}`;
      const xs = [...n.xattrs.keys()].sort();
      if (xs.length) line += ` x{${xs.map((x) => `${x}=${n.xattrs.get(x)}`).join(',')}}`;
      if (n.kind !== 'directory' && nlink > 1) {
        const f = first.get(n);
        if (f) line += ` =${f}`;
        else first.set(n, path);
      }
      lines.push(line);
      if (n.kind === 'directory') for (const name of [...n.children!.keys()].sort()) walk(n.children!.get(name)!, `${path}/${name}`);
    };
    walk(this.root, '');
    return lines;
  }
}
