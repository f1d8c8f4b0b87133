/**
 * A build context from files a page was given (picked or dropped): one tar (plain or gzip) is the
 * context itself; otherwise the files by their folder-relative path (`webkitRelativePath` when a
 * folder was picked, its top directory dropped, as `docker build DIR` sees DIR's contents) or name.
 */
import type { ContextEntry } from './context.ts';

interface FileLike {
  name: string;
  webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export async function filesToContext(files: readonly FileLike[]): Promise<Uint8Array | Map<string, ContextEntry | Uint8Array>> {
  if (files.length === 1 && /\.(tar|tar\.gz|tgz)$/i.test(files[0]!.name)) return new Uint8Array(await files[0]!.arrayBuffer());
  const rel = files.map((f) => f.webkitRelativePath || f.name);
  const tops = new Set(rel.map((r) => r.split('/')[0]));
  const strip = tops.size === 1 && rel.every((r) => r.includes('/'));
  const m = new Map<string, Uint8Array>();
  for (const [i, f] of files.entries()) {
    const r = rel[i]!;
    m.set(strip ? r.slice(r.indexOf('/') + 1) : r, new Uint8Array(await f.arrayBuffer()));
  }
  return m;
}
