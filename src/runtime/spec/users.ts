/**
 * `-u user[:group]` and the image config's User, resolved the way runc's libcontainer/user
 * GetExecUser does (Docker and crun follow it): names through the image's /etc/passwd and
 * /etc/group, numbers taken as ids even with no entry, supplementary groups from /etc/group
 * membership when the group is implicit. The files are read from the container's root
 * `FileSystem`, following symlinks inside it.
 */
import { SkiffError } from '../../errors.ts';
import { FsError } from '../../fs/errno.ts';
import type { FileSystem, FsNode } from '../../fs/types.ts';

export interface UserSpec {
  user: string;
  group?: string;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups (only when the group was not given explicitly). */
  additionalGids: number[];
  /** From passwd; "/" when unknown, as runc. */
  home: string;
  /** The passwd name when the user matched an entry. */
  name?: string;
}

export interface PasswdEntry { name: string; uid: number; gid: number; home: string; shell: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

const MAX_ID = 2 ** 31 - 1;
/** /etc/passwd and /etc/group larger than this are refused rather than read into memory. */
export const MAX_ACCOUNT_FILE = 4 * 1024 * 1024;
const invalid = (message: string): SkiffError => new SkiffError('INVALID_ARGUMENT', message);

/** `"1000:1000"`, `"nobody"`, `"user:group"`, `""` (the image default: root). */
export function parseUser(spec: string): UserSpec {
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const group = colon < 0 ? undefined : spec.slice(colon + 1);
  if (user === '' && group !== undefined && group !== '') return { user: '', group };
  if (user.includes('\n') || (group ?? '').includes('\n')) throw invalid(`invalid user: ${JSON.stringify(spec)}`);
  return group === undefined || group === '' ? { user } : { user, group };
}

function asId(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  if (n > MAX_ID) throw invalid('uids and gids must be in range 0-2147483647');
  return n;
}

/** /etc/passwd lines; malformed lines are skipped as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length < 4 || !/^[0-9]+$/.test(f[2] ?? '') || !/^[0-9]+$/.test(f[3] ?? '')) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !/^[0-9]+$/.test(f[2] ?? '')) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean) });
  }
  return out;
}

/** Read a whole file by absolute path, following symlinks inside `fs`; undefined if missing. */
export function readTextFile(fs: FileSystem, path: string): string | undefined {
  let node: FsNode;
  try {
    node = resolvePath(fs, path);
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
    throw err;
  }
  const st = fs.stat(node);
  if (st.kind !== 'file') return undefined;
  if (st.size > MAX_ACCOUNT_FILE) {
    throw new SkiffError('INVALID_ARGUMENT', `${path} is ${st.size} bytes, over the ${MAX_ACCOUNT_FILE} bytes read for user lookups`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  while (offset < st.size) {
    const chunk = fs.read(node, offset, Math.min(65536, st.size - offset));
    if (chunk.length === 0) break;
    chunks.push(chunk);
    offset += chunk.length;
  }
  const all = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

/** Walk an absolute path from the root; `..` at the root stays there; symlinks are followed. */
export function resolvePath(fs: FileSystem, path: string, maxLinks = 40): FsNode {
  const stack: FsNode[] = [fs.root()];
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  while (parts.length > 0) {
    const name = parts.shift()!;
    const dir = stack[stack.length - 1]!;
    if (name === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const node = fs.lookup(dir, name);
    if (fs.stat(node).kind === 'symlink') {
      if (++links > maxLinks) throw new FsError('ELOOP', path);
      const target = fs.readlink(node);
      if (target.startsWith('/')) stack.splice(1);
      parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    stack.push(node);
  }
  return stack[stack.length - 1]!;
}

export interface ResolveUserOptions {
  /** The container's root filesystem; without it only numeric ids resolve. */
  rootfs?: FileSystem;
  /** Or the files' contents directly (undefined = missing file). */
  passwd?: string;
  group?: string;
}

/** runc's GetExecUser over the image's /etc/passwd and /etc/group. */
export function resolveUser(spec: string | UserSpec, options: ResolveUserOptions = {}): ResolvedUser {
  const { user: userArg, group: groupArg } = typeof spec === 'string' ? parseUser(spec) : spec;
  const passwdText = options.passwd ?? (options.rootfs ? readTextFile(options.rootfs, '/etc/passwd') : undefined);
  const groupText = options.group ?? (options.rootfs ? readTextFile(options.rootfs, '/etc/group') : undefined);
  const users = passwdText === undefined ? undefined : parsePasswd(passwdText);
  const groups = groupText === undefined ? undefined : parseGroup(groupText);

  const uidArg = asId(userArg);
  const gidArg = groupArg === undefined ? undefined : asId(groupArg);
  const result: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  const match = users?.find((u) => (userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  if (match) {
    Object.assign(result, { uid: match.uid, gid: match.gid, home: match.home || '/', name: match.name });
  } else if (userArg !== '') {
    if (uidArg === undefined) {
      const why = users === undefined ? 'open /etc/passwd: no such file or directory' : 'no matching entries in passwd file';
      throw invalid(`unable to find user ${userArg}: ${why}`);
    }
    result.uid = uidArg;
  }

  if (groupArg !== undefined) {
    const g = groups?.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) result.gid = g.gid;
    else if (gidArg !== undefined) result.gid = gidArg;
    else {
      const why = groups === undefined ? 'open /etc/group: no such file or directory' : 'no matching entries in group file';
      throw invalid(`unable to find group ${groupArg}: ${why}`);
    }
  } else if (match && groups) {
    const seen = new Set<number>();
    for (const g of groups) {
      if (g.members.includes(match.name) && !seen.has(g.gid)) {
        seen.add(g.gid);
        result.additionalGids.push(g.gid);
      }
    }
  }
  return result;
}

/**
 * `--group-add`: names through /etc/group, numbers as they are (runc's GetAdditionalGroups).
 */
export function resolveAdditionalGroups(specs: readonly string[], options: ResolveUserOptions = {}): number[] {
  if (specs.length === 0) return [];
  const groupText = options.group ?? (options.rootfs ? readTextFile(options.rootfs, '/etc/group') : undefined);
  const groups = groupText === undefined ? [] : parseGroup(groupText);
  const out: number[] = [];
  for (const spec of specs) {
    const byName = groups.find((g) => g.name === spec);
    const gid = byName?.gid ?? asId(spec);
    if (gid === undefined) throw invalid(`unable to find group ${spec}: no matching entries in group file`);
    if (!out.includes(gid)) out.push(gid);
  }
  return out;
}
