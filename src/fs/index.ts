export * from './types.ts';
export * from './errno.ts';
export { FileContent, CHUNK_SIZE } from './file-content.ts';
export { Inode, linkCount, type InodeKind, type LinkCounts } from './inode.ts';
export { applyLayer, emptyLayerTree, type ApplyLayerOptions, type LayerTree } from './layer.ts';
export { Overlay, OverlayNode, MAX_FILE_SIZE, type OverlayOptions, type OverlayFromUpperOptions } from './overlay.ts';
export { diffUpper, changes, exportMerged, type Change, type DiffUpperOptions } from './diff.ts';
export { splitEntryPath, OPAQUE_MARKER, WHITEOUT_PREFIX, NAME_MAX, PATH_MAX } from './path.ts';
export { Quota, type QuotaOptions } from './quota.ts';
