/**
 * `skiff build CONTEXT` on Node: a directory read into the builder's map of paths (modes and
 * symlinks kept; the .dockerignore filter is the builder's), a tar file read whole, `-` a tar on
 * STDIN.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError } from '../errors.ts';
import type { ContextEntry } from '../build/context.ts';

export async function readBuildContext(path: string, readStdin: () => Promise<Uint8Array>): Promise<Uint8Array | Map<string, ContextEntry>> {
  if (path === '-') return readStdin();
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    throw new SkiffError('NOT_FOUND', `unable to prepare context: path "${path}" not found`, { cause: err });
  }
  if (!st.isDirectory()) return new Uint8Array(await readFile(path));
  const out = new Map<string, ContextEntry>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const ent of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, ent.name);
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const s = await lstat(full);
      const mode = s.mode & 0o7777;
      if (s.isDirectory()) {
        out.set(r, { type: 'directory', mode, data: new Uint8Array(0), mtimeMs: s.mtimeMs });
        await walk(full, r);
      } else if (s.isSymbolicLink()) out.set(r, { type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname: await readlink(full) });
      else if (s.isFile()) out.set(r, { type: 'file', mode, data: new Uint8Array(await readFile(full)), mtimeMs: s.mtimeMs });
    }
  };
  await walk(path, '');
  return out;
}
