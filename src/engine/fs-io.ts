/**
 * The engine's door to src/fs's diff and export (the overlay engineer's diffUpper / exportMerged /
 * changes). TEMPORARY fallbacks until those land.
 */
import type { TarEntry } from '../archive/types.ts';
import type { FileSystem } from '../fs/types.ts';
import type { Overlay } from '../fs/overlay.ts';

export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

export function upperDiff(_fs: Overlay): Iterable<TarEntry> {
  throw new Error('diffUpper not available yet');
}

export function exportEntries(_fs: FileSystem): Iterable<TarEntry> {
  throw new Error('exportMerged not available yet');
}

export function fsChanges(_fs: Overlay): Change[] {
  throw new Error('changes not available yet');
}
