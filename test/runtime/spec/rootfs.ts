/** Builds container root filesystems for these tests: real `Overlay`s over layers of tar entries. */
import type { TarEntry, TarHeader } from '../../../src/archive/types.ts';
import { applyLayer, type LayerTree } from '../../../src/fs/layer.ts';
import { Overlay } from '../../../src/fs/overlay.ts';

const enc = new TextEncoder();

function entry(name: string, type: TarHeader['type'], data: Uint8Array, extra: Partial<TarHeader> = {}): TarEntry {
  return {
    header: { name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: data.length, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0, ...extra },
    data,
  };
}

export const file = (name: string, text: string): TarEntry => entry(name, 'file', enc.encode(text));
export const dir = (name: string): TarEntry => entry(name, 'directory', new Uint8Array(0));
export const symlink = (name: string, target: string): TarEntry => entry(name, 'symlink', new Uint8Array(0), { linkname: target, mode: 0o777 });
/** An OCI whiteout for `path` (".wh.<name>" in the same directory). */
export const whiteout = (path: string): TarEntry => {
  const i = path.lastIndexOf('/');
  return entry(`${path.slice(0, i + 1)}.wh.${path.slice(i + 1)}`, 'file', new Uint8Array(0));
};

/** An overlay whose lower is `layers` applied in order, with a fresh writable upper. */
export function rootfsFromLayers(...layers: TarEntry[][]): Overlay {
  let tree: LayerTree | null = null;
  for (const layer of layers) tree = applyLayer(tree, layer);
  return new Overlay({ lower: tree });
}
