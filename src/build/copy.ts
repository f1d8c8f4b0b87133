/**
 * COPY and ADD: which files (globs over the context or another stage's tree), where they land
 * (Docker's rules: a destination ending in `/`, or several sources, is a directory; a directory
 * source copies its contents; an existing directory destination receives the file), with
 * --chown/--chmod; ADD also unpacks a local tar (plain or gzip). The step's cache key is a
 * checksum of the sources' content and metadata, never their mtime.
 */
import { SkiffError } from '../errors.ts';
import { decompress, detectCompression, readTar } from '../archive/index.ts';
import { bunzip2, isBzip2 } from '../archive/bzip2.ts';
import { isXz, unxz } from '../archive/xz.ts';
import type { FileSystem, FsNode } from '../fs/types.ts';
import { parseGroup, parsePasswd, readTextFile } from '../runtime/spec/users.ts';
import { sha256Digest } from '../oci/digest.ts';
import { DEFAULT_MAX_LAYER_BYTES } from '../engine/tar-io.ts';
import type { BuildContext } from './context.ts';
import { cleanRelative } from './context-path.ts';
import { IgnoreMatcher } from './ignore.ts';
import { isDir, mkdirAll, resolvePath, walkTree, writeItem, type Owner, type WriteItem } from './fs-write.ts';

/** One thing to copy: a path relative to the destination base, and what it is. */
export interface SourceItem {
  /** Path under the copy's target ('' = the target itself). */
  rel: string;
  item: Omit<WriteItem, 'owner'>;
  /** An archive member's own owner (ADD keeps it unless --chown). */
  owner?: Owner;
}

/** A resolved source: a file or a directory tree (its contents copied), or a tar to unpack. */
export interface Source {
  /** The name as written (for messages) and its base name (where a file lands in a directory). */
  name: string;
  base: string;
  isDir: boolean;
  items: SourceItem[];
  /** ADD of a local archive: unpacked into the destination. */
  archive?: boolean;
}

const GLOB = /[*?[]/;

function globRegex(p: string): RegExp {
  let r = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') r += '[^/]*';
    else if (c === '?') r += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) r += '\\[';
      else { r += `[${p.slice(i + 1, end).replace(/^!/, '^')}]`; i = end; }
    } else if (c === '\\' && i + 1 < p.length) r += `\\${p[++i]}`;
    else r += c.replace(/[.+^${}()|\]]/g, '\\$&');
  }
  return new RegExp(`^${r}$`);
}

/** Sources from the build context. */
/**
 * A context path with every symlink on the way followed (the last one too), relative targets
 * from the link's directory, absolute ones from the context root, `..` clamped at the root, as
 * BuildKit's FollowSymlinks copy does. undefined when something on the way is missing.
 */
export function resolveInContext(ctx: BuildContext, path: string): string | undefined {
  const todo = path.split('/').filter((x) => x && x !== '.').reverse();
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const part = todo.pop()!;
    if (part === '..') { done.pop(); continue; }
    const cur = [...done, part].join('/');
    const e = ctx.entries.get(cur);
    if (!e) return undefined;
    if (e.type === 'symlink') {
      if (++hops > 40) return undefined;
      const target = e.linkname ?? '';
      if (target.startsWith('/')) done.length = 0;
      todo.push(...target.split('/').filter((x) => x && x !== '.').reverse());
      continue;
    }
    done.push(part);
  }
  return done.join('/');
}

/** Sources from the build context. */
export function contextSources(ctx: BuildContext, names: string[], o: { add: boolean; unpack?: boolean }): Source[] {
  const out: Source[] = [];
  for (const name of names) {
    const clean = cleanRelative(name);
    let paths: string[];
    if (GLOB.test(clean)) {
      const re = globRegex(clean);
      // BuildKit allows a wildcard that matches nothing (AllowEmptyWildcard).
      paths = [...ctx.entries.keys()].filter((p) => re.test(p));
      // A matched directory is copied whole: what lies inside it is not matched again.
      paths = paths.filter((p) => !paths.some((q) => q !== p && p.startsWith(`${q}/`) && ctx.entries.get(q)?.type === 'directory'));
    } else paths = [clean];
    for (const p of paths) {
      const real = p === '' ? '' : resolveInContext(ctx, p);
      const e = real === '' ? { type: 'directory' as const, mode: 0o755, data: new Uint8Array(0) } : real === undefined ? undefined : ctx.entries.get(real);
      if (!e) throw new SkiffError('NOT_FOUND', `"/${p}": not found (no such file in the build context, or excluded by .dockerignore)`);
      const base = p.split('/').at(-1) ?? '';
      if (e.type === 'directory') {
        const prefix = real === '' ? '' : `${real}/`;
        const items: SourceItem[] = [];
        for (const [k, v] of ctx.entries) {
          if (!k.startsWith(prefix) || k === real) continue;
          items.push({ rel: k.slice(prefix.length), item: { kind: v.type, mode: v.mode, data: v.data, ...(v.linkname !== undefined ? { linkname: v.linkname } : {}), ...(v.mtimeMs !== undefined ? { mtimeMs: v.mtimeMs } : {}) } });
        }
        out.push({ name, base, isDir: true, items: [{ rel: '', item: { kind: 'directory', mode: e.mode, ...(e.mtimeMs !== undefined ? { mtimeMs: e.mtimeMs } : {}) } }, ...items] });
      } else {
        const archive = o.add && (o.unpack ?? true) && isArchive(e.data);
        out.push({ name, base, isDir: false, items: [{ rel: '', item: { kind: 'file', mode: e.mode, data: e.data, ...(e.mtimeMs !== undefined ? { mtimeMs: e.mtimeMs } : {}) } }], ...(archive ? { archive: true } : {}) });
      }
    }
  }
  return out;
}

/** The file name BuildKit gives a download: Content-Disposition's filename, else the URL path's base. */
function downloadName(url: string, disposition: string | null): string {
  const m = disposition ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition) : null;
  if (m && !m[1]!.endsWith('/')) {
    const base = decodeURIComponent(m[1]!).split('/').at(-1);
    if (base) return base;
  }
  try {
    const base = new URL(url).pathname.split('/').filter(Boolean).at(-1);
    if (base) return decodeURIComponent(base);
  } catch {
    /* not a URL: fall through */
  }
  return 'download';
}

/**
 * ADD of an http(s) URL, as BuildKit does: the body saved under the URL's file name with mode
 * 0600 and the Last-Modified time, never unpacked; `--checksum` verified.
 */
export async function urlSource(url: string, checksum: string | undefined, fetchImpl: typeof fetch = globalThis.fetch, unpack = false, maxBytes = MAX_UNPACKED): Promise<Source> {
  if (!fetchImpl) throw new SkiffError('UNSUPPORTED', `ADD ${url}: this engine has no fetch to download it`);
  let resp: Response;
  try {
    resp = await fetchImpl(url, { redirect: 'follow' });
  } catch (err) {
    throw new SkiffError('REGISTRY', `ADD ${url}: the download failed (${(err as Error).message}); where the network is closed, put the file in the build context and COPY it`, { cause: err });
  }
  if (!resp.ok) throw new SkiffError('NOT_FOUND', `failed to load cache key: invalid response status ${resp.status}`);
  const data = await boundedBody(url, resp, maxBytes);
  if (checksum) {
    const m = /^([a-z0-9]+):([0-9a-f]+)$/.exec(checksum);
    if (!m) throw new SkiffError('INVALID_ARGUMENT', `invalid checksum digest format: ${checksum}`);
    const algo = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }[m[1]!];
    if (!algo) throw new SkiffError('INVALID_ARGUMENT', `unsupported digest algorithm: ${m[1]}`);
    const hex = [...new Uint8Array(await crypto.subtle.digest(algo, data))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const got = `${m[1]}:${hex}`;
    if (got !== checksum) throw new SkiffError('DIGEST_MISMATCH', `digest mismatch for ${url}: ${got} (expected: ${checksum})`);
  }
  const lm = resp.headers.get('last-modified');
  const mtimeMs = lm ? Date.parse(lm) : NaN;
  const base = downloadName(url, resp.headers.get('content-disposition'));
  // `ADD --unpack=true <url>` unpacks a downloaded archive; by default it is kept as downloaded.
  return { name: url, base, isDir: false, items: [{ rel: '', item: { kind: 'file', mode: 0o600, data, ...(Number.isFinite(mtimeMs) ? { mtimeMs } : {}) } }], ...(unpack && isArchive(data) ? { archive: true } : {}) };
}

/**
 * A download's body, refused past `max` bytes (it is held in memory, and a layer cannot hold more
 * anyway): by its Content-Length before reading, else as it streams.
 */
async function boundedBody(url: string, resp: Response, max: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = (): SkiffError => new SkiffError('INVALID_ARGUMENT', `ADD ${url}: the download is larger than the limit of ${max} bytes`);
  const declared = Number(resp.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await resp.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!resp.body) return new Uint8Array(await resp.arrayBuffer());
  const reader = resp.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}

/** Sources from another stage's (or image's) filesystem. */
export function fsSources(fs: FileSystem, names: string[], from: string): Source[] {
  const out: Source[] = [];
  for (const name of names) {
    const node = resolvePath(fs, name);
    if (!node) throw new SkiffError('NOT_FOUND', `COPY --from=${from}: "${name}": not found`);
    const st = fs.stat(node);
    const base = name.split('/').filter(Boolean).at(-1) ?? '';
    // Files from another stage or image keep their owners (unless --chown), as BuildKit copies them.
    const ownerOf = (n: FsNode): Owner => { const st2 = fs.stat(n); return { uid: st2.uid, gid: st2.gid }; };
    const itemOf = (n: FsNode): Omit<WriteItem, 'owner'> => {
      const s = fs.stat(n);
      if (s.kind === 'directory') return { kind: 'directory', mode: s.mode, mtimeMs: s.mtimeMs };
      if (s.kind === 'symlink') return { kind: 'symlink', mode: 0o777, linkname: fs.readlink(n) };
      return { kind: 'file', mode: s.mode, data: s.size ? fs.read(n, 0, s.size) : new Uint8Array(0), mtimeMs: s.mtimeMs };
    };
    if (st.kind === 'directory') {
      const items: SourceItem[] = [{ rel: '', item: itemOf(node), owner: ownerOf(node) }];
      for (const { path, node: n } of walkTree(fs, node)) {
        const k = fs.stat(n).kind;
        if (k === 'file' || k === 'directory' || k === 'symlink') items.push({ rel: path, item: itemOf(n), owner: ownerOf(n) });
      }
      out.push({ name, base, isDir: true, items });
    } else out.push({ name, base, isDir: false, items: [{ rel: '', item: itemOf(node), owner: ownerOf(node) }] });
  }
  return out;
}

/**
 * What ADD downloads or unpacks at most from one source (a bound against decompression bombs):
 * it is held in memory, and one layer holds no more than this anyway (engine/tar-io.ts).
 */
const MAX_UNPACKED = DEFAULT_MAX_LAYER_BYTES;

function isArchive(data: Uint8Array): boolean {
  const c = detectCompression(data.subarray(0, 4));
  if (c !== 'none' || isBzip2(data) || isXz(data)) return true;
  return data.byteLength >= 512 && new TextDecoder().decode(data.subarray(257, 262)) === 'ustar';
}

/**
 * An ADD source's archive members, or undefined when it is no tar after all (BuildKit then
 * copies the file as it is, compressed or not).
 */
export async function archiveItems(name: string, data: Uint8Array, max = MAX_UNPACKED): Promise<SourceItem[] | undefined> {
  let tar = data;
  const c = detectCompression(data.subarray(0, 4));
  // A bomb is refused as such, not copied as a file that "holds no tar".
  const overLimit = (m: number): SkiffError => new SkiffError('UNSUPPORTED', `ADD ${name}: the archive unpacks to more than the limit of ${m} bytes (possible decompression bomb)`);
  const bound = { maxOutputBytes: max, overLimit };
  let entries;
  try {
    if (isBzip2(data)) tar = bunzip2(data, bound);
    else if (isXz(data)) tar = unxz(data, bound);
    else if (c !== 'none') tar = await decompress(data, { compression: c, ...bound });
    entries = readTar(tar);
  } catch (err) {
    // An xz filter skiff cannot undo, or a bomb, is said as such; other failures mean "no archive".
    if (err instanceof SkiffError && err.code === 'UNSUPPORTED') throw err.message.startsWith(`ADD ${name}`) ? err : SkiffError.wrap(err, `ADD ${name}`);
    return undefined;
  }
  if (entries.length === 0 && tar.some((b) => b !== 0)) return undefined;
  const items: SourceItem[] = [];
  for (const e of entries) {
    const rel = cleanRelative(e.header.name);
    if (!rel) continue;
    const t = e.header.type;
    const mtimeMs = e.header.mtime * 1000;
    const owner = { uid: e.header.uid, gid: e.header.gid };
    if (t === 'directory') items.push({ rel, owner, item: { kind: 'directory', mode: e.header.mode & 0o7777, mtimeMs } });
    else if (t === 'symlink') items.push({ rel, owner, item: { kind: 'symlink', mode: 0o777, linkname: e.header.linkname } });
    else if (t === 'file' || t === 'hardlink') {
      const data2 = t === 'hardlink' ? (items.find((x) => x.rel === cleanRelative(e.header.linkname))?.item.data ?? new Uint8Array(0)) : e.data;
      items.push({ rel, owner, item: { kind: 'file', mode: e.header.mode & 0o7777, data: data2, mtimeMs } });
    }
  }
  return items;
}

/** A checksum of what would be copied: paths, kinds, modes, contents, link targets; not times. */
export function sourcesChecksum(sources: Source[]): string {
  const parts: string[] = [];
  for (const s of sources) {
    parts.push(`src ${s.name} ${s.isDir ? 'dir' : 'file'}${s.archive ? ' archive' : ''}`);
    for (const { rel, item } of s.items) {
      parts.push(`${rel}\0${item.kind}\0${item.mode.toString(8)}\0${item.linkname ?? ''}\0${item.data ? sha256Digest(item.data) : ''}`);
    }
  }
  return sha256Digest(parts.join('\n'));
}

/** `--chown=user[:group]`, names resolved in the image's /etc/passwd and /etc/group. */
export function resolveChown(fs: FileSystem, spec: string): Owner {
  const [u, g] = spec.split(':') as [string, string | undefined];
  const passwd = parsePasswd(readTextFile(fs, '/etc/passwd') ?? '');
  const groups = parseGroup(readTextFile(fs, '/etc/group') ?? '');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  else {
    const p = passwd.find((x) => x.name === u);
    if (!p) throw new SkiffError('INVALID_ARGUMENT', `--chown=${spec}: unable to find user ${u}: no matching entries in passwd file`);
    uid = p.uid;
    gid = p.gid;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grp = groups.find((x) => x.name === g);
      if (!grp) throw new SkiffError('INVALID_ARGUMENT', `--chown=${spec}: unable to find group ${g}: no matching entries in group file`);
      gid = grp.gid;
    }
  } else if (gid === undefined) gid = uid;
  return { uid, gid: gid! };
}

/** --chmod: an octal mode, or a symbolic one (`u+x,go=r`) applied to each file's own mode. */
export type ChmodSpec = number | { symbolic: string };

export function parseChmod(v: string): ChmodSpec {
  if (/^[0-7]+$/.test(v)) {
    const n = parseInt(v, 8);
    if (n <= 0o7777) return n;
  }
  if (/^[0-9]+$/.test(v)) fail(`invalid chmod parameter: '${v}'. it should be octal string and between 0 and 07777`);
  for (const clause of v.split(',')) {
    if (!/^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+$/.test(clause)) fail(`invalid chmod parameter: '${v}'. it should be octal string and between 0 and 07777`);
  }
  return { symbolic: v };
}

function fail(message: string): never {
  throw new SkiffError('INVALID_ARGUMENT', message);
}

/** A symbolic mode applied to `mode` (chmod(1)'s rules; no umask: `+x` alone means `a+x`). */
export function applySymbolic(spec: string, mode: number, isDir: boolean): number {
  let m = mode & 0o7777;
  for (const clause of spec.split(',')) {
    const who = /^[ugoa]*/.exec(clause)![0];
    const mask = who === '' || who.includes('a') ? 0o7777 : (who.includes('u') ? 0o4700 : 0) | (who.includes('g') ? 0o2070 : 0) | (who.includes('o') ? 0o1007 : 0);
    for (const [, op, perms] of clause.slice(who.length).matchAll(/([-+=])([rwxXstugo]*)/g)) {
      let bits = 0;
      for (const c of perms!) {
        if (c === 'r') bits |= 0o444;
        else if (c === 'w') bits |= 0o222;
        else if (c === 'x') bits |= 0o111;
        else if (c === 'X') { if (isDir || m & 0o111) bits |= 0o111; }
        else if (c === 's') bits |= 0o6000;
        else if (c === 't') bits |= 0o1000;
        else {
          const src = c === 'u' ? (m >> 6) & 7 : c === 'g' ? (m >> 3) & 7 : m & 7;
          bits |= src * 0o111;
        }
      }
      bits &= mask;
      if (op === '+') m |= bits;
      else if (op === '-') m &= ~bits;
      else m = (m & ~(mask & 0o7777)) | bits;
    }
  }
  return m;
}

/** --exclude: drops the files (and directories) the patterns match, relative to each source. */
export function excludeSources(sources: Source[], patterns: string[]): Source[] {
  const matcher = IgnoreMatcher.parse(patterns.join('\n'));
  const out: Source[] = [];
  for (const s of sources) {
    if (!s.isDir) {
      if (!matcher.ignores(cleanRelative(s.name)) && !matcher.ignores(s.base)) out.push(s);
      continue;
    }
    out.push({ ...s, items: s.items.filter((x) => x.rel === '' || !matcher.ignores(x.rel)) });
  }
  return out;
}

export interface ApplyCopyOptions {
  sources: Source[];
  /** Absolute destination (WORKDIR applied), as written: a trailing `/` matters. */
  dest: string;
  owner: Owner;
  /** --chown was given (it then overrides an archive's owners too). */
  chown?: boolean;
  chmod?: ChmodSpec;
  /** COPY or ADD, for messages. */
  what?: string;
}

/** Writes the sources into `fs` by Docker's destination rules. */
export async function applyCopy(fs: FileSystem, o: ApplyCopyOptions): Promise<void> {
  const { sources, dest, owner } = o;
  const destIsDir = /\/\.?$/.test(dest) || dest === '.';
  // Archives unpack into a directory, so only the other sources count (BuildKit's ADD *.tar /dest works).
  const fileCount = sources.filter((x) => !x.archive).length + (sources.some((x) => x.archive) ? 1 : 0);
  if (fileCount > 1 && !destIsDir) throw new SkiffError('INVALID_ARGUMENT', `When using ${o.what ?? 'COPY'} with more than one source file, the destination must be a directory and end with a /`);
  const root = `/${dest.split('/').filter((x) => x && x !== '.').join('/')}`;
  const chmod = o.chmod;
  const mode = (m: number, dir = false): number => (chmod === undefined ? m : typeof chmod === 'number' ? chmod : applySymbolic(chmod.symbolic, m, dir));
  // BuildKit makes the destination's missing parents with the --chmod mode too.
  const pmode = mode(0o755, true);
  // A directory destination that exists as something else is Docker's error, not a replacement.
  const existing = resolvePath(fs, root);
  if (existing && fs.stat(existing).kind !== 'directory' && (destIsDir || sources.some((x) => x.isDir || x.archive))) {
    throw new SkiffError('INVALID_ARGUMENT', `cannot copy to non-directory: ${root}`);
  }
  for (let s of sources) {
    const unpacked = s.archive ? await archiveItems(s.name, s.items[0]!.item.data!) : undefined;
    // Not a tar after all: copied as the file it is.
    if (s.archive && !unpacked) s = { ...s, archive: false };
    const items = unpacked ?? s.items;
    // A directory (or archive) fills the destination; a file lands inside it when it is a directory.
    const into = s.isDir || s.archive ? root : destIsDir || isDir(fs, root) ? `${root === '/' ? '' : root}/${s.base}` : root;
    // An archive fills the destination directory, made when missing; an existing one keeps its metadata.
    if (s.archive && !isDir(fs, root)) mkdirAll(fs, root, owner, pmode);
    for (const { rel, item, owner: own } of items) {
      if (s.isDir && rel === '' && !s.archive) {
        // The source directory's own mode does not replace an existing destination's, except --chmod/--chown.
        if (!isDir(fs, root)) writeItem(fs, root, { ...item, owner: own && !o.chown ? own : owner, mode: mode(item.mode, true) }, owner, pmode);
        continue;
      }
      const path = rel ? `${into === '/' ? '' : into}/${rel}` : into;
      writeItem(fs, path, { ...item, mode: item.kind === 'symlink' ? 0o777 : mode(item.mode, item.kind === 'directory'), owner: own && !o.chown ? own : owner }, owner, pmode);
    }
  }
}
