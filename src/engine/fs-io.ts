/** The engine's door to src/fs's diff and export. */
export { diffUpper as upperDiff, exportMerged as exportEntries, exportMergedAsync as exportEntriesAsync, changes as fsChanges, type Change } from '../fs/diff.ts';
export { materializeTree } from '../fs/tree.ts';
