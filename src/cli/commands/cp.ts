/**
 * `skiff cp`: files between a container and the host (or a tar on STDIN/STDOUT with `-`), with
 * Docker's rules for where they land (`copyPlan`): a file onto a missing path is created with that
 * name; into a directory it keeps its name; a directory onto a missing path becomes that path; a
 * source ending in `/.` copies a directory's contents. The container side is the engine's
 * (engine/container-copy.ts); the host side is the host's (packHostPath / extractToHost, Node only;
 * in a browser `-` reads a picked tar and writes a download).
 */
import type { TarEntry } from '../../archive/index.ts';
import { readTar, writeTar } from '../../archive/index.ts';
import { isSkiffError, SkiffError } from '../../errors.ts';
import { displayText } from '../present/escape.ts';
import { humanSize } from '../present/format.ts';
import type { Command } from './context.ts';
import { UsageError } from './flags.ts';

export interface CopyPlan {
  /** The directory the entries are extracted into. */
  into: string;
  /** The source's top entry gets this name; '.' drops it (its contents go straight into `into`). */
  rename?: string;
}

/** The directory holding `p`: "." for a bare name ("out.txt"), "/" for a top-level path. */
const parent = (p: string): string => {
  const t = p.replace(/\/+$/, '');
  const i = t.lastIndexOf('/');
  return i > 0 ? t.slice(0, i) : i === 0 || p.startsWith('/') ? '/' : '.';
};
const base = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? '';

/** Docker's cp rules (the docker cp reference): where the source lands at `dest`. */
export function copyPlan(src: { path: string; dir: boolean }, dest: { path: string; exists: boolean; dir: boolean }): CopyPlan {
  const contentsOnly = /\/\.$/.test(src.path);
  if (!src.dir) {
    if (dest.exists && dest.dir) return { into: dest.path };
    if (!dest.exists && dest.path.endsWith('/')) throw new SkiffError('NOT_FOUND', `destination directory ${dest.path} does not exist`);
    return { into: parent(dest.path), rename: base(dest.path) };
  }
  if (dest.exists && !dest.dir) throw new SkiffError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${dest.path}`);
  if (dest.exists) return contentsOnly ? { into: dest.path, rename: '.' } : { into: dest.path };
  return { into: parent(dest.path), rename: base(dest.path) };
}

/** The entries with their first path component renamed per the plan. */
export function renameTop(entries: Iterable<TarEntry>, rename: string | undefined): TarEntry[] {
  const out: TarEntry[] = [];
  for (const e of entries) {
    if (rename === undefined) { out.push(e); continue; }
    const parts = e.header.name.split('/');
    const rest = parts.slice(1).join('/');
    const name = rename === '.' ? rest : [rename, rest].filter((x) => x !== '').join('/') + (e.header.type === 'directory' && rest === '' ? '/' : '');
    if (name === '' || name === '/') continue;
    out.push({ ...e, header: { ...e.header, name } });
  }
  return out;
}

/** "name:path" names a container path; an absolute or relative host path has no colon first (Docker). */
function split(arg: string): { container?: string; path: string } {
  const i = arg.indexOf(':');
  if (i <= 0 || arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const cp: Command = {
  name: 'cp', aliases: ['container cp'], minArgs: 2, maxArgs: 2,
  usage: 'CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem (- : a tar on STDIN or STDOUT)',
  flags: [
    { name: 'archive', short: 'a', help: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', help: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', help: 'Suppress progress output during copy' },
  ],
  async run(ctx, f, [a, b]) {
    const from = split(a!);
    const to = split(b!);
    if (from.container && to.container) throw new UsageError('cp', 'copying between containers is not supported');
    if (!from.container && !to.container) throw new UsageError('cp', 'must specify at least one container source');
    // Docker's CLI says what it copied, on stderr, unless -q.
    const said = (entries: TarEntry[], where: string) => {
      if (!f['quiet']) ctx.stderr(`Successfully copied ${humanSize(entries.reduce((n, e) => n + (e.header.type === 'file' ? e.data.length : 0), 0))} to ${displayText(where)}\n`);
    };
    if (from.container) {
      const rec = await ctx.engine.inspectContainer({ id: from.container });
      const path = from.path.startsWith('/') ? from.path : `/${from.path}`;
      const { stat, tar } = await ctx.engine.copyFromContainer({ id: rec.id, path: f['follow-link'] ? path.replace(/\/?$/, '/') : path });
      if (to.path === '-') return void (await ctx.host.writeArchive(tar, { defaultName: `${stat.name}.tar` }));
      if (!ctx.host.extractToHost) throw new UsageError('cp', 'host files cannot be written in a browser: copy to - (a tar download)');
      const bytes = await collect(tar);
      await ctx.host.extractToHost(to.path, bytes, { name: stat.name, dir: stat.kind === 'directory', path: from.path });
      return said(readTar(bytes), to.path);
    }
    const rec = await ctx.engine.inspectContainer({ id: to.container! });
    const dest = to.path.startsWith('/') ? to.path : `/${to.path}`;
    let entries: TarEntry[];
    let srcDir = false;
    if (from.path === '-') {
      // A tar on STDIN is extracted into the directory as it is (Docker).
      entries = readTar(await ctx.host.readStdin());
      await ctx.engine.copyIntoContainer({ id: rec.id, path: dest, tar: writeTar(entries) });
      return said(entries, `${to.container}:${dest}`);
    }
    if (!ctx.host.packHostPath) throw new UsageError('cp', 'host files cannot be read in a browser: copy from - (a tar you pick)');
    const packed = await ctx.host.packHostPath(from.path);
    srcDir = packed.dir;
    entries = readTar(packed.tar);
    const st = await ctx.engine.statContainerPath({ id: rec.id, path: dest }).catch((err: unknown) => (isSkiffError(err, 'NOT_FOUND') ? undefined : Promise.reject(err)));
    const plan = copyPlan({ path: from.path, dir: srcDir }, { path: dest, exists: st !== undefined, dir: st?.kind === 'directory' });
    await ctx.engine.copyIntoContainer({ id: rec.id, path: plan.into, tar: writeTar(renameTop(entries, plan.rename)) });
    said(entries, `${to.container}:${dest}`);
  },
};
