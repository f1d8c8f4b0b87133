import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { fileSystemConformance } from './conformance.ts';

// Everything in the lower layer (copy-up paths), and everything in a restored upper (no lower).
fileSystemConformance('Overlay over a lower layer', (entries) => new Overlay({ lower: applyLayer(null, entries) }));
fileSystemConformance('Overlay restored from an upper layer', (entries) => Overlay.fromUpper({ lower: null, entries }));
// Half below, half restored above: merges at every level.
fileSystemConformance('Overlay split across lower and upper', (entries) => {
  const lower = applyLayer(null, entries.filter((_, k) => k % 2 === 0 || entries[k]!.header.type === 'hardlink'));
  return Overlay.fromUpper({ lower, entries: entries.filter((e, k) => k % 2 === 1 && e.header.type !== 'hardlink') });
});
