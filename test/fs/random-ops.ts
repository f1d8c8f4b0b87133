/** Random operation sequences and layers for the property and interop tests. */
import type { TarEntry } from '../../src/archive/types.ts';
import { FsError } from '../../src/fs/errno.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import { bytes, device, dir, file, hardlink, symlink, whiteout } from './helpers.ts';
import { MNode, type Model, ModelError } from './model.ts';

export const NAMES = ['a', 'b', 'c', 'd', 'e'];

export class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  word(): string {
    return Array.from({ length: 1 + this.int(6) }, () => 'xyzw'[this.int(4)]).join('');
  }
}

export function allPaths(m: Model): { dirs: string[][]; all: string[][] } {
  const dirs: string[][] = [];
  const all: string[][] = [];
  const walk = (n: MNode, p: string[]) => {
    all.push(p);
    if (n.kind !== 'directory') return;
    dirs.push(p);
    for (const [name, c] of n.children!) walk(c, [...p, name]);
  };
  walk(m.root, []);
  return { dirs, all };
}

export function node(fs: FileSystem, path: string[]): FsNode {
  let n = fs.root();
  for (const p of path) n = fs.lookup(n, p);
  return n;
}

export function outcome(fn: () => void, errorClass: typeof FsError | typeof ModelError): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof errorClass) return e.code;
    throw e;
  }
}

/** What an op does, as data: lets other executors (a real Linux directory) replay it. */
export type OpSpec =
  | { op: 'create' | 'mkdir'; dir: string[]; name: string; mode: number }
  | { op: 'write'; path: string[]; offset: number; data: Uint8Array }
  | { op: 'truncate'; path: string[]; size: number }
  | { op: 'unlink' | 'rmdir'; dir: string[]; name: string }
  | { op: 'rename'; oldDir: string[]; oldName: string; newDir: string[]; newName: string }
  | { op: 'symlink'; dir: string[]; name: string; target: string }
  | { op: 'link'; dir: string[]; name: string; target: string[] }
  | { op: 'chmod'; path: string[]; mode: number }
  | { op: 'xattr' };

export type Op = { text: string; spec: OpSpec; fs: (fs: FileSystem) => void; model: (m: Model) => void };

export function randomOp(r: Rng, m: Model): Op {
  const { dirs, all } = allPaths(m);
  // Mostly real paths, sometimes a made-up one, to exercise the error paths too.
  const somePath = () => (r.int(10) === 0 ? [...r.pick(dirs), r.pick(NAMES)] : r.pick(all));
  const someDir = () => (r.int(12) === 0 ? r.pick(all) : r.pick(dirs));
  const name = r.pick(NAMES);
  const P = (p: string[]) => `/${p.join('/')}`;
  const attr = { mode: 0o600 + r.int(0o100), uid: 1, gid: 2 };
  switch (r.int(13)) {
    case 0: {
      const d = someDir();
      const mk = () => Object.assign(new MNode('file', attr.mode), { uid: 1, gid: 2 });
      return { text: `create ${P(d)} ${name}`, spec: { op: 'create', dir: d, name, mode: attr.mode }, fs: (fs) => void fs.create(node(fs, d), name, attr), model: (m) => m.add(d, name, mk()) };
    }
    case 1: {
      const d = someDir();
      const mk = () => Object.assign(new MNode('directory', attr.mode), { uid: 1, gid: 2 });
      return { text: `mkdir ${P(d)} ${name}`, spec: { op: 'mkdir', dir: d, name, mode: attr.mode }, fs: (fs) => void fs.mkdir(node(fs, d), name, attr), model: (m) => m.add(d, name, mk()) };
    }
    case 2:
    case 3: {
      const p = somePath();
      const off = r.int(12);
      const data = bytes(r.word());
      return { text: `write ${P(p)} @${off} ${data.length}`, spec: { op: 'write', path: p, offset: off, data }, fs: (fs) => void fs.write(node(fs, p), off, data), model: (m) => m.write(p, off, data) };
    }
    case 4: {
      const p = somePath();
      const size = r.int(10);
      return { text: `truncate ${P(p)} ${size}`, spec: { op: 'truncate', path: p, size }, fs: (fs) => fs.setattr(node(fs, p), { size }), model: (m) => m.truncate(p, size) };
    }
    case 5:
    case 6: {
      const d = someDir();
      const directory = r.int(3) === 0;
      return {
        text: `${directory ? 'rmdir' : 'unlink'} ${P(d)} ${name}`,
        spec: { op: directory ? 'rmdir' : 'unlink', dir: d, name },
        fs: (fs) => fs.unlink(node(fs, d), name, { directory }),
        model: (m) => m.unlink(d, name, directory),
      };
    }
    case 7:
    case 8: {
      const od = someDir();
      const nd = someDir();
      const on = r.int(2) ? r.pick(NAMES) : (m.lookup(od).children ? r.pick([...m.lookup(od).children!.keys(), 'a']) : 'a');
      const nn = r.pick(NAMES);
      return { text: `rename ${P(od)} ${on} -> ${P(nd)} ${nn}`, spec: { op: 'rename', oldDir: od, oldName: on, newDir: nd, newName: nn }, fs: (fs) => fs.rename(node(fs, od), on, node(fs, nd), nn), model: (m) => m.rename(od, on, nd, nn) };
    }
    case 9: {
      const d = someDir();
      const target = r.word();
      const mk = () => Object.assign(new MNode('symlink', 0o777), { target, uid: 1, gid: 2 });
      return { text: `symlink ${P(d)} ${name}`, spec: { op: 'symlink', dir: d, name, target }, fs: (fs) => void fs.symlink(node(fs, d), name, target, attr), model: (m) => m.add(d, name, mk()) };
    }
    case 10: {
      const d = someDir();
      const t = somePath();
      return {
        text: `link ${P(d)} ${name} -> ${P(t)}`,
        spec: { op: 'link', dir: d, name, target: t },
        fs: (fs) => {
          const tn = node(fs, t);
          fs.link(node(fs, d), name, tn);
        },
        model: (m) => m.link(d, name, t),
      };
    }
    case 11: {
      const p = somePath();
      const mode = r.int(0o1000);
      return { text: `chmod ${P(p)} ${mode.toString(8)}`, spec: { op: 'chmod', path: p, mode }, fs: (fs) => fs.setattr(node(fs, p), { mode }), model: (m) => {
          const n = m.lookup(p);
          if (n.kind === 'symlink') throw new ModelError('EOPNOTSUPP');
          n.mode = mode;
        } };
    }
    default: {
      const p = somePath();
      const key = r.pick(['user.a', 'user.b']);
      const val = r.word();
      if (r.int(3) === 0)
        return {
          text: `removexattr ${P(p)} ${key}`,
          spec: { op: 'xattr' },
          fs: (fs) => fs.removexattr(node(fs, p), key),
          model: (m) => {
            const n = m.lookup(p);
            if (!n.xattrs.delete(key)) throw new ModelError('ENODATA');
          },
        };
      return { text: `setxattr ${P(p)} ${key}`, spec: { op: 'xattr' }, fs: (fs) => fs.setxattr(node(fs, p), key, bytes(val)), model: (m) => {
          const n = m.lookup(p);
          if (n.kind !== 'file' && n.kind !== 'directory') throw new ModelError('EPERM');
          n.xattrs.set(key, val);
        } };
    }
  }
}

export function baseEntries(): TarEntry[] {
  return [
    dir('a/'),
    dir('a/b/'),
    file('a/b/c', 'abc'),
    file('a/d', 'ad', { xattrs: { 'user.a': bytes('lower') } }),
    dir('b/'),
    dir('b/a/'),
    dir('b/a/e/'),
    file('b/a/e/a', 'deep'),
    file('c', 'top'),
    hardlink('b/c', 'c'),
    hardlink('a/b/e', 'c'),
    symlink('d', 'a/b'),
    device('e', 'fifo'),
  ];
}

/** A random layer over the model's current state; some are invalid, and those must be rejected. */
export function randomLayer(r: Rng, m: Model): TarEntry[] {
  const { dirs, all } = allPaths(m);
  const used = new Set<string>();
  const out: TarEntry[] = [];
  for (let k = 0; k < 1 + r.int(8); k++) {
    const parent = r.pick(dirs);
    const path = [...parent, ...(r.int(4) === 0 ? [r.pick(NAMES)] : []), r.pick(NAMES)].join('/');
    const key = path;
    const kind = r.int(7);
    const name = kind === 5 ? [...parent, `.wh.${r.pick(NAMES)}`].join('/') : kind === 6 ? [...parent, '.wh..wh..opq'].join('/') : path;
    if (used.has(name) || used.has(key)) continue;
    used.add(name);
    if (kind === 0 || kind === 1) out.push(file(name, r.word(), { mode: 0o640 }));
    else if (kind === 2) out.push(dir(name, { mode: 0o711 }));
    else if (kind === 3) out.push(symlink(name, r.word()));
    else if (kind === 4) {
      const t = r.pick(all);
      if (t.length === 0) continue;
      out.push(hardlink(name, t.join('/')));
    } else out.push(whiteout(name));
  }
  return out;
}

