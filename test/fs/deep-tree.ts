/**
 * Run by deep-tree.test.ts in a child Node with a small stack: builds a directory chain deeper than
 * the stack allows recursion for, then runs every whole-tree walk over it. Prints "ok <counts>".
 */
import { changes, diffUpper, exportMerged } from '../../src/fs/diff.ts';
import { Overlay } from '../../src/fs/overlay.ts';

const depth = Number(process.argv[2] ?? 3000);
const fs = new Overlay({ lower: null });
const D = { mode: 0o755, uid: 0, gid: 0 };
let n = fs.mkdir(fs.root(), 'top', D);
for (let i = 0; i < depth; i++) n = fs.mkdir(n, 'd', D);
fs.create(n, 'leaf', { mode: 0o644, uid: 0, gid: 0 });
const diff = diffUpper(fs).length;
const changed = changes(fs).length;
let exported = 0;
for (const _ of exportMerged(fs)) exported++;
const free = fs.statfs().filesFree;
fs.rename(fs.root(), 'top', fs.root(), 'moved');
const restored = Overlay.fromUpper({ lower: null, entries: diffUpper(fs) });
console.log(`ok ${diff} ${changed} ${exported} ${free > 0} ${restored.stat(restored.lookup(restored.root(), 'moved')).kind}`);
