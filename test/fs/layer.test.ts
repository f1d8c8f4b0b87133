import { describe, expect, it } from 'vitest';
import { SkiffError } from '../../src/errors.ts';
import { applyLayer, type LayerTree } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import type { TarEntry } from '../../src/archive/types.ts';
import { dir, dumpFs, file, hardlink, readText, resolve, symlink, whiteout, device, bytes } from './helpers.ts';

function paths(tree: LayerTree): string[] {
  return dumpFs(new Overlay({ lower: tree, readOnly: true })).map((l) => l.split(' ')[0]!);
}

function expectInvalid(entries: TarEntry[], pattern: RegExp, base: LayerTree | null = null): void {
  let err: unknown;
  try {
    applyLayer(base, entries);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SkiffError);
  expect((err as SkiffError).code).toBe('INVALID_ARCHIVE');
  expect((err as SkiffError).message).toMatch(pattern);
}

describe('applyLayer: OCI image-spec layer.md examples', () => {
  const base = () =>
    applyLayer(null, [dir('./'), dir('./etc/'), file('./etc/my-app-config', 'cfg'), dir('./bin/'), file('./bin/my-app-binary', 'bin'), file('./bin/my-app-tools', 'tools v1')]);

  it('applies the changeset example: add, change, delete', () => {
    const next = applyLayer(base(), [
      dir('./etc/my-app.d/'),
      file('./etc/my-app.d/default.cfg', 'default'),
      file('./bin/my-app-tools', 'tools v2'),
      whiteout('./etc/.wh.my-app-config'),
    ]);
    expect(paths(next)).toEqual(['/', '/bin', '/bin/my-app-binary', '/bin/my-app-tools', '/etc', '/etc/my-app.d', '/etc/my-app.d/default.cfg']);
    const fs = new Overlay({ lower: next });
    expect(readText(fs, 'bin/my-app-tools')).toBe('tools v2');
    expect(readText(fs, 'etc/my-app.d/default.cfg')).toBe('default');
  });

  it('opaque whiteout hides lower children, wherever the marker sits in the layer', () => {
    const lower = applyLayer(null, [dir('a/'), dir('a/b/'), dir('a/b/c/'), file('a/b/c/bar', 'bar'), file('a/keep', 'k')]);
    const first = applyLayer(lower, [dir('a/'), whiteout('a/.wh..wh..opq'), dir('a/b/'), dir('a/b/c/'), file('a/b/c/foo', 'foo')]);
    const last = applyLayer(lower, [dir('a/'), dir('a/b/'), dir('a/b/c/'), file('a/b/c/foo', 'foo'), whiteout('a/.wh..wh..opq')]);
    expect(paths(first)).toEqual(['/', '/a', '/a/b', '/a/b/c', '/a/b/c/foo']);
    expect(paths(last)).toEqual(paths(first));
  });

  it('whiteouts never delete entries of the same layer', () => {
    const lower = applyLayer(null, [file('x', 'old'), dir('d/'), file('d/old', 'o')]);
    const next = applyLayer(lower, [file('x', 'new'), whiteout('.wh.x'), whiteout('d/.wh..wh..opq'), file('d/new', 'n')]);
    expect(paths(next)).toEqual(['/', '/d', '/d/new', '/x']);
    expect(readText(new Overlay({ lower: next }), 'x')).toBe('new');
  });

  it('a whiteout of a directory removes the whole lower subtree; absent targets are no-ops', () => {
    const lower = applyLayer(null, [dir('usr/'), dir('usr/lib/'), file('usr/lib/a', 'a'), file('usr/b', 'b')]);
    const next = applyLayer(lower, [whiteout('usr/.wh.lib'), whiteout('.wh.nothing'), whiteout('nodir/.wh.x')]);
    expect(paths(next)).toEqual(['/', '/usr', '/usr/b']);
  });

  it('replaces a file by a directory and a directory by a file', () => {
    const lower = applyLayer(null, [file('a', 'file'), dir('b/'), file('b/c', 'c')]);
    const next = applyLayer(lower, [dir('a/'), file('a/x', 'x'), file('b', 'now a file')]);
    expect(paths(next)).toEqual(['/', '/a', '/a/x', '/b']);
  });
});

describe('applyLayer: structure', () => {
  it('normalizes ./a//b/ forms and implies parent directories', () => {
    const t = applyLayer(null, [file('./a//b/c', 'c'), dir('./a/b/'), file('x/./y/../z', 'z')]);
    expect(paths(t)).toEqual(['/', '/a', '/a/b', '/a/b/c', '/x', '/x/z']);
    const fs = new Overlay({ lower: t });
    expect(fs.stat(resolve(fs, 'x')).mode).toBe(0o755);
  });

  it('shares unchanged subtrees and file bytes with the base (no copies)', () => {
    const big = new Uint8Array(300_000).fill(7);
    const base = applyLayer(null, [dir('keep/'), file('keep/big', big), dir('edit/'), file('edit/f', 'f')]);
    const next = applyLayer(base, [file('edit/g', 'g')]);
    expect(next.root).not.toBe(base.root);
    expect(next.root.children!.get('keep')).toBe(base.root.children!.get('keep'));
    expect(next.root.children!.get('edit')).not.toBe(base.root.children!.get('edit'));
    expect(base.root.children!.get('edit')!.children!.has('g')).toBe(false); // base untouched
    const content = base.root.children!.get('keep')!.children!.get('big')!.content!;
    expect(content.ownedBytes).toBe(0);
    const views = [...content.views()];
    expect(views.length).toBe(5);
    for (const v of views) expect(v.buffer).toBe(big.buffer);
  });

  it('builds hard links within a layer and to lower files, with link counts', () => {
    const base = applyLayer(null, [file('bin/busybox', 'bb', { mode: 0o755 })]);
    const t = applyLayer(base, [hardlink('bin/sh', 'bin/busybox'), file('f', 'f'), hardlink('g', './f')]);
    const fs = new Overlay({ lower: t });
    const bb = fs.stat(resolve(fs, 'bin/busybox'));
    const sh = fs.stat(resolve(fs, 'bin/sh'));
    expect(sh.ino).toBe(bb.ino);
    expect(bb.nlink).toBe(2);
    expect(sh.mode).toBe(0o755);
    expect(fs.stat(resolve(fs, 'g')).nlink).toBe(2);
    const fsBase = new Overlay({ lower: base });
    expect(fsBase.stat(resolve(fsBase, 'bin/busybox')).nlink).toBe(1);
    const after = applyLayer(t, [whiteout('bin/.wh.sh')]);
    const fs2 = new Overlay({ lower: after });
    expect(fs2.stat(resolve(fs2, 'bin/busybox')).nlink).toBe(1);
  });

  it('survives the docker2aci case: whiteout of one name of a hard link pair keeps the other', () => {
    const l1 = applyLayer(null, [file('A', 'data'), hardlink('B', 'A')]);
    const l2 = applyLayer(l1, [whiteout('.wh.A')]);
    const fs = new Overlay({ lower: l2 });
    expect(readText(fs, 'B')).toBe('data');
    expect(fs.stat(resolve(fs, 'B')).nlink).toBe(1);
    // Re-linking a name that already is a link of its target changes nothing.
    const l3 = applyLayer(l1, [hardlink('B', 'A')]);
    const fs3 = new Overlay({ lower: l3 });
    expect(fs3.stat(resolve(fs3, 'B')).nlink).toBe(2);
    expect(() => applyLayer(l1, [hardlink('A', 'A')])).toThrow(/hardlink to itself/);
  });

  it('keeps symlinks, devices, fifos and xattrs', () => {
    const t = applyLayer(null, [
      symlink('lib', 'usr/lib'),
      device('dev/null', 'chardev', 1, 3),
      device('dev/sda', 'blockdev', 8, 0),
      device('run/p', 'fifo'),
      file('cap', 'x', { xattrs: { 'security.capability': bytes('cap') } }),
    ]);
    const fs = new Overlay({ lower: t });
    expect(fs.readlink(resolve(fs, 'lib'))).toBe('usr/lib');
    const n = fs.stat(resolve(fs, 'dev/null'));
    expect([n.kind, n.rdevMajor, n.rdevMinor]).toEqual(['chardev', 1, 3]);
    expect(fs.stat(resolve(fs, 'dev/sda')).kind).toBe('blockdev');
    expect(fs.stat(resolve(fs, 'run/p')).kind).toBe('fifo');
    expect(fs.listxattr(resolve(fs, 'cap'))).toEqual(['security.capability']);
  });

  it('sets the root attributes from a ./ entry', () => {
    const t = applyLayer(null, [dir('./', { mode: 0o700, uid: 5 })]);
    const fs = new Overlay({ lower: t });
    expect(fs.stat(fs.root())).toMatchObject({ mode: 0o700, uid: 5, kind: 'directory' });
  });
});

describe('applyLayer: safety (INVALID_ARCHIVE naming entry and rule)', () => {
  it('refuses .. escaping the root', () => expectInvalid([file('../etc/passwd', 'x')], /"\.\.\/etc\/passwd".*escapes/));
  it('refuses a/../../x', () => expectInvalid([file('a/../../x', 'x')], /escapes/));
  it('refuses absolute paths', () => expectInvalid([file('/etc/passwd', 'x')], /"\/etc\/passwd".*absolute/));
  it('refuses writing through a symlink parent in the same layer', () =>
    expectInvalid([symlink('etc', '/tmp'), file('etc/passwd', 'x')], /"etc\/passwd".*symlink/));
  it('refuses writing through a symlink parent from a lower layer', () =>
    expectInvalid([file('lib/x', 'x')], /"lib\/x".*symlink/, applyLayer(null, [symlink('lib', '../../outside')])));
  it('refuses a hardlink to a missing target', () => expectInvalid([hardlink('a', 'missing')], /"a".*"missing" does not exist/));
  it('refuses a hardlink outside the root', () => expectInvalid([hardlink('a', '../../etc/shadow')], /"a".*escapes/));
  it('refuses an absolute hardlink target', () => expectInvalid([file('t', 't'), hardlink('a', '/t')], /"a".*absolute/));
  it('refuses a hardlink through a symlink', () =>
    expectInvalid([dir('d/'), file('d/f', 'f'), symlink('s', 'd'), hardlink('a', 's/f')], /"a".*symlink/));
  it('refuses a hardlink to a directory', () => expectInvalid([dir('d/'), hardlink('a', 'd')], /directory/));
  it('refuses duplicate entries, even spelled differently', () => expectInvalid([file('a/b', '1'), file('./a//b', '2')], /"\.\/a\/\/b".*duplicate/));
  it('refuses a body whose size differs from the header', () =>
    expectInvalid([{ header: file('f', 'abc').header, data: bytes('ab') }], /"f".*2 bytes.*3/));
  it('refuses a non-directory root entry', () => expectInvalid([file('./', 'x')], /root/));
  it('refuses names and paths beyond Linux NAME_MAX and PATH_MAX', () => {
    expectInvalid([file(`d/${'n'.repeat(256)}`, 'x')], /longer than 255 bytes/);
    expectInvalid([file(`d/${'é'.repeat(128)}`, 'x')], /longer than 255 bytes/); // 256 bytes in UTF-8
    expectInvalid([file(`${'abcdefghi/'.repeat(410)}f`, 'x')], /longer than 4096 bytes/);
    const ok = applyLayer(null, [file(`${'abcdefghi/'.repeat(380)}${'n'.repeat(255)}`, 'x')]);
    expect(ok.root.children!.has('abcdefghi')).toBe(true);
  });
  it('refuses a parent that is a regular file', () => expectInvalid([file('a', 'x'), file('a/b', 'y')], /"a\/b".*not a directory/));
});
