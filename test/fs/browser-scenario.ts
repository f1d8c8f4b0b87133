/** A scenario with no Node dependencies, run both in Node and in Chromium by browser.test.ts. */
import type { TarEntry } from '../../src/archive/types.ts';
import { diffUpper } from '../../src/fs/diff.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { bytes, dir, dumpFs, file, hardlink, resolve, symlink } from './helpers.ts';

export function scenario(): { merged: string[]; diff: string[]; restored: string[]; layered: string[]; sharedBytes: boolean; ownedAfterWrite: number; entriesPerSecond: number } {
  const big = new Uint8Array(1 << 22).fill(3);
  const lower = applyLayer(null, [dir('etc/'), file('etc/passwd', 'root'), file('big', big), file('bin/busybox', 'BB'), hardlink('bin/sh', 'bin/busybox'), symlink('lib', 'usr/lib')]);
  const fs = new Overlay({ lower, now: () => 1000 });
  const A = { mode: 0o644, uid: 0, gid: 0 };
  fs.write(resolve(fs, 'big'), 123_456, bytes('x'));
  fs.unlink(resolve(fs, 'etc'), 'passwd');
  fs.write(fs.create(fs.mkdir(fs.root(), 'home', { ...A, mode: 0o755 }), 'notes', A), 0, bytes('hello'));
  fs.write(resolve(fs, 'bin/sh'), 0, bytes('sh'));
  fs.rename(fs.root(), 'etc', fs.root(), 'etc2');
  const diff = diffUpper(fs);
  const lowerBig = lower.root.children!.get('big')!.content!;
  const upperBig = fs.upperTree.root.children!.get('big')!.content!;
  const entries: TarEntry[] = [];
  for (let d = 0; d < 100; d++) {
    entries.push(dir(`usr/d${d}/`));
    for (let f = 0; f < 200; f++) entries.push(file(`usr/d${d}/f${f}`, big.subarray(f, f + 64)));
  }
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    applyLayer(null, entries);
    best = Math.min(best, performance.now() - t);
  }
  return {
    merged: dumpFs(fs).map((l) => l.slice(0, 200)),
    diff: diff.map((e) => `${e.header.type} ${e.header.name} ${e.header.size} ${e.header.linkname}`),
    restored: dumpFs(Overlay.fromUpper({ lower, entries: diff })).map((l) => l.slice(0, 200)),
    layered: dumpFs(new Overlay({ lower: applyLayer(lower, diff) })).map((l) => l.slice(0, 200)),
    sharedBytes: [...lowerBig.views()].every((v) => v.buffer === big.buffer) && lowerBig.ownedBytes === 0,
    ownedAfterWrite: upperBig.ownedBytes,
    entriesPerSecond: entries.length / (best / 1000),
  };
}
