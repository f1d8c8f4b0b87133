import { describe, expect, it } from 'vitest';
import { changes, diffUpper, exportMerged } from '../../src/fs/diff.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { bytes, dir, dumpFs, file, hardlink, resolve, text } from './helpers.ts';

const A = { mode: 0o644, uid: 0, gid: 0 };
const D = { mode: 0o755, uid: 0, gid: 0 };

function scenario(): Overlay {
  const lower = applyLayer(null, [
    dir('etc/'),
    file('etc/passwd', 'root'),
    file('etc/hosts', 'lh'),
    dir('var/log/'),
    file('var/log/a', 'a'),
    file('var/log/b', 'b'),
    file('bin/busybox', 'BB'),
    hardlink('bin/sh', 'bin/busybox'),
    dir('usr/share/doc/'),
    file('usr/share/doc/x', 'x'),
    dir('opt/-dash/'),
  ]);
  const fs = new Overlay({ lower, now: () => 5000 });
  fs.write(resolve(fs, 'etc/passwd'), 4, bytes(':x'));
  fs.unlink(resolve(fs, 'etc'), 'hosts');
  const log = resolve(fs, 'var/log');
  fs.unlink(log, 'a');
  fs.unlink(log, 'b');
  fs.unlink(resolve(fs, 'var'), 'log', { directory: true });
  fs.create(fs.mkdir(resolve(fs, 'var'), 'log', D), 'new', A);
  fs.link(fs.root(), 'hl', resolve(fs, 'etc/passwd'));
  fs.rename(resolve(fs, 'usr'), 'share', fs.root(), 'share');
  fs.symlink(fs.root(), 'sl', 'etc', { uid: 0, gid: 0 });
  fs.unlink(resolve(fs, 'opt'), '-dash', { directory: true });
  fs.create(resolve(fs, 'opt'), '+plus', A);
  return fs;
}

describe('diffUpper', () => {
  it('writes the upper as an OCI layer: whiteouts first (explicit for recreated dirs), hard links, parents first', () => {
    const fs = scenario();
    const entries = diffUpper(fs);
    expect(entries.map((e) => `${e.header.type} ${e.header.name}${e.header.linkname ? ` -> ${e.header.linkname}` : ''}`)).toEqual([
      'directory etc/',
      'file etc/.wh.hosts',
      'file etc/passwd',
      'hardlink hl -> etc/passwd',
      'directory opt/',
      'file opt/.wh.-dash',
      'file opt/+plus',
      'directory share/',
      'directory share/doc/',
      'file share/doc/x',
      'symlink sl -> etc',
      'directory usr/',
      'file usr/.wh.share',
      'directory var/',
      'directory var/log/',
      'file var/log/.wh.a',
      'file var/log/.wh.b',
      'file var/log/new',
    ]);
    const passwd = entries.find((e) => e.header.name === 'etc/passwd')!;
    expect([text(passwd.data), passwd.header.size, passwd.header.mtime]).toEqual(['root:x', 6, 5]);
    // The unchanged lower hard link pair is not in the diff at all.
    expect(entries.some((e) => e.header.name.startsWith('bin'))).toBe(false);
  });

  it('can write recreated directories as opaque markers instead', () => {
    const fs = scenario();
    const entries = diffUpper(fs, { opaqueMarkers: true });
    const names = entries.map((e) => e.header.name);
    expect(names.slice(names.indexOf('var/log/'))).toEqual(['var/log/', 'var/log/.wh..wh..opq', 'var/log/new']);
    expect(dumpFs(new Overlay({ lower: applyLayer(fs.lowerTree, entries) }))).toEqual(dumpFs(fs));
    expect(dumpFs(Overlay.fromUpper({ lower: fs.lowerTree, entries }))).toEqual(dumpFs(fs));
  });

  it('recreating a directory over a lower one of the same name replaces it, not merges', () => {
    const lower = applyLayer(null, [dir('d/'), dir('d/sub/'), file('d/sub/old', 'o'), file('d/f', 'f')]);
    const fs = new Overlay({ lower });
    const d = resolve(fs, 'd');
    fs.unlink(resolve(fs, 'd/sub'), 'old');
    fs.unlink(d, 'sub', { directory: true });
    fs.unlink(d, 'f');
    fs.unlink(fs.root(), 'd', { directory: true });
    const d2 = fs.mkdir(fs.root(), 'd', D);
    fs.create(fs.mkdir(d2, 'sub', D), 'new', A);
    const entries = diffUpper(fs);
    expect(entries.map((e) => e.header.name)).toEqual(['d/', 'd/.wh.f', 'd/.wh.sub', 'd/sub/', 'd/sub/new']);
    expect(dumpFs(new Overlay({ lower: applyLayer(lower, entries) }))).toEqual(['/ directory 755 0:0 n3', '/d directory 755 0:0 n3', '/d/sub directory 755 0:0 n2', '/d/sub/new file 644 0:0 n1 ""']);
  });

  it('is deterministic and rebuilds the merged view on the lower, as a layer and as a saved upper', () => {
    const fs = scenario();
    const a = diffUpper(fs);
    expect(diffUpper(fs)).toEqual(a);
    const merged = dumpFs(fs);
    expect(dumpFs(new Overlay({ lower: applyLayer(fs.lowerTree, a) }))).toEqual(merged);
    const restored = Overlay.fromUpper({ lower: fs.lowerTree, entries: a });
    expect(dumpFs(restored)).toEqual(merged);
    expect(diffUpper(restored)).toEqual(a);
  });

  it('writes nothing for an untouched container, and the root only when its attributes change', () => {
    const fs = new Overlay({ lower: applyLayer(null, [file('f', 'x')]) });
    fs.readdir(fs.root());
    fs.read(resolve(fs, 'f'), 0, 1);
    expect(diffUpper(fs)).toEqual([]);
    expect(changes(fs)).toEqual([]);
    fs.setattr(fs.root(), { mode: 0o700 });
    expect(diffUpper(fs).map((e) => e.header.name)).toEqual(['./']);
  });
});

describe('changes', () => {
  it('lists A/C/D sorted by path, with lower children of opaque directories deleted', () => {
    expect(changes(scenario()).map((c) => `${c.kind} ${c.path}`)).toEqual([
      'C /etc',
      'D /etc/hosts',
      'C /etc/passwd',
      'A /hl',
      'C /opt',
      'A /opt/+plus',
      'D /opt/-dash',
      'A /share',
      'A /share/doc',
      'A /share/doc/x',
      'A /sl',
      'C /usr',
      'D /usr/share',
      'C /var',
      'C /var/log',
      'D /var/log/a',
      'D /var/log/b',
      'A /var/log/new',
    ]);
  });
});

describe('exportMerged', () => {
  it('walks the whole merged view, root first, hard links as links', () => {
    const fs = scenario();
    const entries = [...exportMerged(fs)];
    expect(entries.map((e) => `${e.header.type} ${e.header.name}${e.header.linkname ? ` -> ${e.header.linkname}` : ''}`)).toEqual([
      'directory ./',
      'directory bin/',
      'file bin/busybox',
      'hardlink bin/sh -> bin/busybox',
      'directory etc/',
      'file etc/passwd',
      'hardlink hl -> etc/passwd',
      'directory opt/',
      'file opt/+plus',
      'directory share/',
      'directory share/doc/',
      'file share/doc/x',
      'symlink sl -> etc',
      'directory usr/',
      'directory var/',
      'directory var/log/',
      'file var/log/new',
    ]);
    expect(dumpFs(new Overlay({ lower: applyLayer(null, entries) }))).toEqual(dumpFs(fs));
  });
});
