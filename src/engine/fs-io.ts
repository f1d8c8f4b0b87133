/** The engine's door to src/fs's diff and export. */
export { diffUpper as upperDiff, exportMerged as exportEntries, changes as fsChanges, type Change } from '../fs/diff.ts';
