/**
 * The build context: the files a build may COPY, as a sorted map of clean relative paths. It comes
 * from a tar (`skiff build - < ctx.tar`, a dropped archive; gzip allowed) or from a map of paths to
 * bytes (the Node CLI reads a directory into one; a page builds one from dropped files). The
 * `.dockerignore` filter (ignore.ts) is applied here, once, except that the Dockerfile and
 * `.dockerignore` themselves are always readable by the builder (not by COPY), as in Docker.
 */
import { SkiffError } from '../errors.ts';
import { detectCompression, gunzip, readTar } from '../archive/index.ts';
import type { FileSystem } from '../fs/types.ts';
import { filesToContext } from './browser-context.ts';
import { walkTree } from './fs-write.ts';
import { cleanRelative } from './context-path.ts';
import { IgnoreMatcher } from './ignore.ts';

export interface ContextEntry {
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits. */
  mode: number;
  data: Uint8Array;
  linkname?: string;
  /** Kept on COPY as Docker does (never part of the cache checksum). */
  mtimeMs?: number;
}

/**
 * What callers pass: a tar (maybe gzip; bytes or a Blob), paths to bytes/strings (or full
 * entries), files a page was given (File[] or a FileList), or a host directory's path (where the
 * engine can open host directories: Node).
 */
export type BuildContextInput =
  | Uint8Array | Blob | string | ArrayLike<File>
  | Map<string, Uint8Array | string | ContextEntry> | Record<string, Uint8Array | string | ContextEntry>;

export interface OpenContextOptions {
  /** The Dockerfile's path in the context (its own .dockerignore). */
  dockerfile?: string;
  /** Opens a host directory read-only (the engine's hostDir); absent where there are none. */
  openDir?: (path: string) => FileSystem;
}

/** A filesystem tree (a host directory) as context entries: kinds, modes, mtimes, link targets. */
function fromFs(fs: FileSystem): Map<string, ContextEntry> {
  const m = new Map<string, ContextEntry>();
  for (const { path, node } of walkTree(fs, fs.root())) {
    const st = fs.stat(node);
    if (st.kind === 'directory') m.set(path, { type: 'directory', mode: st.mode, data: new Uint8Array(0), mtimeMs: st.mtimeMs });
    else if (st.kind === 'symlink') m.set(path, { type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname: fs.readlink(node), mtimeMs: st.mtimeMs });
    else if (st.kind === 'file') m.set(path, { type: 'file', mode: st.mode, data: st.size ? fs.read(node, 0, st.size) : new Uint8Array(0), mtimeMs: st.mtimeMs });
  }
  return m;
}

export interface BuildContext {
  /** Clean relative paths ("a/b.txt"), every parent directory present. */
  entries: Map<string, ContextEntry>;
  /** Read a file the builder itself needs (Dockerfile), ignoring .dockerignore. */
  raw(path: string): Uint8Array | undefined;
}

const enc = new TextEncoder();

async function fromInput(input: BuildContextInput, o: OpenContextOptions): Promise<Map<string, ContextEntry>> {
  if (typeof input === 'string') {
    if (!o.openDir) throw new SkiffError('UNSUPPORTED', `build context "${input}": this engine cannot open host directories; pass the files or a tar`);
    let fs: FileSystem;
    try {
      fs = o.openDir(input);
    } catch (err) {
      throw new SkiffError('NOT_FOUND', `unable to prepare context: path "${input}" not found`, { cause: err });
    }
    return fromFs(fs);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) input = new Uint8Array(await input.arrayBuffer());
  else if (!(input instanceof Uint8Array) && !(input instanceof Map) && typeof (input as ArrayLike<File>).length === 'number') {
    input = await filesToContext(Array.from(input as ArrayLike<File>));
  }
  const m = new Map<string, ContextEntry>();
  if (input instanceof Uint8Array) {
    let tar = input;
    const c = detectCompression(tar.subarray(0, 4));
    if (c === 'gzip') tar = await gunzip(tar);
    else if (c !== 'none') throw new SkiffError('INVALID_ARGUMENT', `build context: a ${c} tar is not supported (plain or gzip)`);
    let entries;
    try {
      entries = readTar(tar);
    } catch (err) {
      throw SkiffError.wrap(err, 'build context: reading the tar');
    }
    for (const e of entries) {
      const p = cleanRelative(e.header.name);
      if (!p) continue;
      const t = e.header.type;
      const mtimeMs = e.header.mtime * 1000;
      if (t === 'file' || t === 'hardlink') {
        const target = t === 'hardlink' ? m.get(cleanRelative(e.header.linkname)) : undefined;
        m.set(p, { type: 'file', mode: e.header.mode & 0o7777, data: target ? target.data : e.data, mtimeMs });
      } else if (t === 'directory') m.set(p, { type: 'directory', mode: e.header.mode & 0o7777, data: new Uint8Array(0), mtimeMs });
      else if (t === 'symlink') m.set(p, { type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname: e.header.linkname, mtimeMs });
    }
  } else {
    const it = input instanceof Map ? input.entries() : Object.entries(input);
    for (const [k, v] of it) {
      const p = cleanRelative(k);
      if (!p) continue;
      if (typeof v === 'string') m.set(p, { type: 'file', mode: 0o644, data: enc.encode(v) });
      else if (v instanceof Uint8Array) m.set(p, { type: 'file', mode: 0o644, data: v });
      else m.set(p, v);
    }
  }
  // Parents of every path exist as directories (a map or a tar may leave them implicit).
  for (const p of [...m.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!m.has(d)) m.set(d, { type: 'directory', mode: 0o755, data: new Uint8Array(0) });
    }
  }
  return m;
}

export async function openContext(input: BuildContextInput, o: OpenContextOptions = {}): Promise<BuildContext> {
  const all = await fromInput(input, o);
  // BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile over .dockerignore.
  const own = o.dockerfile ? all.get(`${cleanRelative(o.dockerfile)}.dockerignore`) : undefined;
  const ignoreFile = own ?? all.get('.dockerignore');
  const matcher = ignoreFile?.type === 'file' ? IgnoreMatcher.parse(new TextDecoder().decode(ignoreFile.data)) : null;
  const entries = new Map<string, ContextEntry>();
  for (const p of [...all.keys()].sort()) {
    if (matcher?.ignores(p)) continue;
    entries.set(p, all.get(p)!);
  }
  return { entries, raw: (p) => { const e = all.get(cleanRelative(p)); return e?.type === 'file' ? e.data : undefined; } };
}
