/**
 * A wasm container's writes land in its overlay's writable layer the way `docker diff` and
 * `commit` expect: copy-up of image files, whiteouts for deleted and renamed-away image files,
 * image bytes untouched, symlinks stored as symlinks.
 */
import { describe, expect, it } from 'vitest';
import { tarEntry } from '../../../src/archive/tar-writer.ts';
import { changes, diffUpper } from '../../../src/fs/diff.ts';
import { applyLayer } from '../../../src/fs/layer.ts';
import { Overlay } from '../../../src/fs/overlay.ts';
import { capture, fixture } from './helpers.ts';

function imageLayers() {
  return applyLayer(null, [
    tarEntry({ name: 'etc/', type: 'directory' }),
    tarEntry({ name: 'etc/motd', mtime: 1000 }, 'welcome\n'),
    tarEntry({ name: 'etc/old.conf' }, 'old'),
    tarEntry({ name: 'etc/gone' }, 'bye'),
    tarEntry({ name: 'bin/', type: 'directory' }),
    tarEntry({ name: 'bin/tool.wasm' }, 'not really'),
  ]);
}

describe('wasm writes in the overlay', () => {
  it('copy-up, whiteouts on delete and rename, symlinks: seen by diff', async () => {
    const lower = imageLayers();
    const fs = new Overlay({ lower });
    const sibling = new Overlay({ lower });
    const r = await capture({
      module: fixture('fsops'),
      args: ['fsops', 'append', '/etc/motd', 'edited\n', 'rm', '/etc/gone', 'mv', '/etc/old.conf', '/etc/new.conf', 'ln-s', 'motd', '/etc/link', 'cat', '/etc/link', 'ls', '/etc'],
      mounts: [{ path: '/', fs }],
    });
    expect(r.stdout).toBe('ok\nok\nok\nok\nwelcome\nedited\n\nlink motd new.conf\n');
    expect(changes(fs)).toEqual([
      { kind: 'C', path: '/etc' },
      { kind: 'D', path: '/etc/gone' },
      { kind: 'A', path: '/etc/link' },
      { kind: 'C', path: '/etc/motd' },
      { kind: 'A', path: '/etc/new.conf' },
      { kind: 'D', path: '/etc/old.conf' },
    ]);
    const upper = diffUpper(fs).map((e) => `${e.header.type}:${e.header.name}${e.header.linkname ? '->' + e.header.linkname : ''}`);
    expect(upper).toEqual(expect.arrayContaining(['file:etc/.wh.gone', 'file:etc/.wh.old.conf', 'symlink:etc/link->motd', 'file:etc/motd', 'file:etc/new.conf']));
    // The image's own bytes are unchanged: another container on the same layers sees the original.
    const etc = sibling.lookup(sibling.root(), 'etc');
    expect(new TextDecoder().decode(sibling.read(sibling.lookup(etc, 'motd'), 0, 100))).toBe('welcome\n');
    expect(sibling.readdir(etc).map((e) => e.name).sort()).toEqual(['gone', 'motd', 'old.conf']);
  });
});
