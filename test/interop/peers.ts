/** Helpers for round trips with real peers (umoci, skopeo): walk their output trees. */
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readTar } from '../../src/archive/index.ts';

export interface TreeNode {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  /** sha-free comparison: the content itself for files, the target for symlinks. */
  data?: string;
}

/** A directory on disk as path -> node, relative paths, root excluded. */
export function diskTree(root: string): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) { out.set(p, { type: 'directory', mode }); walk(p); }
      else if (st.isSymbolicLink()) out.set(p, { type: 'symlink', mode: 0, data: readlinkSync(join(root, p)) });
      else if (st.isFile()) out.set(p, { type: 'file', mode, data: readFileSync(join(root, p)).toString('latin1') });
      else out.set(p, { type: 'other', mode });
    }
  };
  walk('');
  return out;
}

/** A tar (e.g. `skiff export`) as the same kind of map; hard links take their target's content. */
export function tarTree(bytes: Uint8Array): Map<string, TreeNode> {
  const out = new Map<string, TreeNode>();
  const norm = (n: string): string => n.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  for (const e of readTar(bytes)) {
    const p = norm(e.header.name);
    if (p === '' || p === '.') continue;
    const h = e.header;
    if (h.type === 'directory') out.set(p, { type: 'directory', mode: h.mode });
    else if (h.type === 'symlink') out.set(p, { type: 'symlink', mode: 0, data: h.linkname });
    else if (h.type === 'file') out.set(p, { type: 'file', mode: h.mode, data: Buffer.from(e.data).toString('latin1') });
    else if (h.type === 'hardlink') out.set(p, { ...out.get(norm(h.linkname))!, mode: out.get(norm(h.linkname))?.mode ?? 0 });
    else out.set(p, { type: 'other', mode: h.mode });
  }
  return out;
}

/**
 * `skiff export`, like `docker export`, includes the container's init layer: the mount points crun
 * needs (/proc, /dev, /etc/hosts ...) that the image lacks, as empty directories and files owned by
 * the image. Returns the exported paths the reference tree lacks, sorted, after checking that each
 * is such a mount point (an empty file or a 0755 directory) and nothing the reference has is missing.
 */
export function initLayerExtras(exported: Map<string, TreeNode>, reference: Map<string, TreeNode>): string[] {
  const missing = [...reference.keys()].filter((p) => !exported.has(p));
  if (missing.length) throw new Error(`export lacks ${missing.length} paths of the image: ${missing.slice(0, 5).join(', ')}`);
  const extras = [...exported.keys()].filter((p) => !reference.has(p)).sort();
  for (const p of extras) {
    const n = exported.get(p)!;
    const mountPoint = (n.type === 'file' && n.data === '' && n.mode === 0o644) || (n.type === 'directory' && n.mode === 0o755);
    if (!mountPoint) throw new Error(`export has ${p} (${n.type} ${n.mode.toString(8)}), which is neither in the image nor a mount point`);
  }
  return extras;
}
