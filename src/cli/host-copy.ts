/**
 * `skiff cp`'s host side in Node: a host path packed as a tar (entries named from its last
 * component; symlinks kept as symlinks, as docker cp does without -L), and a container's tar
 * placed at a host path by Docker's rules (commands/cp.ts copyPlan). Writing never goes through a
 * symlink: every directory on the way is checked with lstat and files are opened O_NOFOLLOW, so an
 * archive's symlink entry cannot redirect a later entry outside the destination.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, readlink, stat, symlink, unlink, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readTar, tarEntry, writeTar, type TarEntry } from '../archive/index.ts';
import { SkiffError } from '../errors.ts';
import { copyPlan, renameTop } from './commands/cp.ts';

async function exists(path: string): Promise<{ dir: boolean } | undefined> {
  try {
    return { dir: (await stat(path)).isDirectory() };
  } catch {
    return undefined;
  }
}

export async function packHostPath(path: string): Promise<{ tar: Uint8Array; dir: boolean }> {
  const root = path.replace(/\/\.$/, '') || '/';
  const st = await lstat(root).catch(() => { throw new SkiffError('NOT_FOUND', `lstat ${path}: no such file or directory`); });
  const name = basename(root.replace(/\/+$/, '')) || '.';
  const entries: TarEntry[] = [];
  const add = async (abs: string, rel: string): Promise<void> => {
    const s = await lstat(abs);
    const h = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtime: Math.floor(s.mtimeMs / 1000) };
    if (s.isDirectory()) {
      entries.push(tarEntry({ ...h, name: `${rel}/`, type: 'directory' }));
      for (const child of (await readdir(abs)).sort()) await add(join(abs, child), `${rel}/${child}`);
    } else if (s.isSymbolicLink()) {
      entries.push(tarEntry({ ...h, name: rel, type: 'symlink', linkname: await readlink(abs) }));
    } else if (s.isFile()) {
      entries.push(tarEntry({ ...h, name: rel }, new Uint8Array(await readFile(abs))));
    }
  };
  await add(root, name);
  return { tar: writeTar(entries), dir: st.isDirectory() };
}

/** The path's components below `into`, refusing `..` and absolute names. */
function parts(name: string): string[] {
  const p = name.split('/').filter((x) => x !== '' && x !== '.');
  if (p.includes('..')) throw new SkiffError('INVALID_ARCHIVE', `refusing the archive entry "${name}": it climbs out of the destination`);
  return p;
}

/** Directories from `into` down to the parent of `rel`, made as needed; a symlink on the way is refused. */
async function parentDir(into: string, rel: string[]): Promise<string> {
  let dir = into;
  for (const p of rel.slice(0, -1)) {
    dir = join(dir, p);
    const s = await lstat(dir).catch(() => undefined);
    if (!s) await mkdir(dir, { mode: 0o755 });
    else if (!s.isDirectory()) throw new SkiffError('INVALID_ARCHIVE', `refusing to write through ${dir}: it is not a directory (a symlink?)`);
  }
  return dir;
}

export async function extractToHost(dest: string, tar: Uint8Array, src: { name: string; dir: boolean; path: string }): Promise<void> {
  const d = await exists(dest);
  const plan = copyPlan({ path: src.path, dir: src.dir }, { path: dest, exists: d !== undefined, dir: d?.dir ?? false });
  if (!(await exists(plan.into))?.dir) throw new SkiffError('NOT_FOUND', `destination directory ${plan.into} does not exist`);
  for (const e of renameTop(readTar(tar), plan.rename)) {
    const rel = parts(e.header.name);
    if (rel.length === 0) continue;
    const at = join(await parentDir(plan.into, rel), rel[rel.length - 1]!);
    const old = await lstat(at).catch(() => undefined);
    const mode = e.header.mode & 0o7777;
    if (e.header.type === 'directory') {
      if (old && !old.isDirectory()) throw new SkiffError('INVALID_ARGUMENT', `cannot overwrite non-directory ${at} with a directory`);
      if (!old) await mkdir(at, { mode });
    } else if (e.header.type === 'file') {
      if (old?.isDirectory()) throw new SkiffError('INVALID_ARGUMENT', `cannot overwrite directory ${at} with a file`);
      if (old?.isSymbolicLink()) await unlink(at);
      const fh = await open(at, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
      try {
        await fh.writeFile(e.data);
        await fh.chmod(mode);
      } finally {
        await fh.close();
      }
      await utimes(at, e.header.mtime, e.header.mtime).catch(() => {});
    } else if (e.header.type === 'symlink') {
      if (old?.isDirectory()) throw new SkiffError('INVALID_ARGUMENT', `cannot overwrite directory ${at} with a symlink`);
      if (old) await unlink(at);
      await symlink(e.header.linkname, at);
    }
  }
}
