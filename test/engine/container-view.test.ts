/**
 * engine/container-view.ts: a container's root with its mounts as one filesystem, as `docker cp`
 * walks it: mount points answer the mount (present in the image or not), nested mounts attach
 * inside their parent mount, `..` and symlinks resolve in the container (never in the member
 * they start in), a read-only mount refuses writes, and nothing crosses or replaces a mount.
 */
import { describe, expect, it } from 'vitest';
import { tarEntry } from '../../src/archive/index.ts';
import { entriesAt, extractInto, statPath } from '../../src/engine/container-copy.ts';
import { ContainerView } from '../../src/engine/container-view.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import type { FileSystem } from '../../src/fs/types.ts';
import { resolvePath } from '../../src/build/fs-write.ts';

const fsOf = (...entries: Parameters<typeof tarEntry>[]): Overlay => new Overlay({ lower: applyLayer(null, entries.map((e) => tarEntry(...e))) });
const text = (fs: FileSystem, path: string): string => {
  const n = resolvePath(fs, path);
  if (!n) throw new Error(`no ${path}`);
  return new TextDecoder().decode(fs.read(n, 0, fs.stat(n).size));
};
const names = async (fs: FileSystem, path: string): Promise<string[]> => {
  const out: string[] = [];
  for await (const e of entriesAt(fs, path)) out.push(e.header.name);
  return out.sort();
};

function container() {
  const root = fsOf([{ name: 'etc/', type: 'directory' }], [{ name: 'etc/hostname' }, 'image\n'], [{ name: 'etc/passwd' }, 'root:x:0:0\n'],
    [{ name: 'data/', type: 'directory' }], [{ name: 'data/shadowed' }, 'under the volume\n']);
  const vol = fsOf([{ name: 'v.txt' }, 'volume\n'], [{ name: 'abs', type: 'symlink', linkname: '/etc/passwd' }], [{ name: 'rel', type: 'symlink', linkname: '../../../etc/passwd' }]);
  const inner = fsOf([{ name: 'deep.txt' }, 'deep\n']);
  const ro = fsOf([{ name: 'r.txt' }, 'ro\n']);
  const etc = fsOf([{ name: 'hostname' }, 'myhost\n']);
  const view = new ContainerView(root, [
    // Out of order on purpose: /data/inner lands inside the volume at /data.
    { destination: '/data/inner', fs: inner, readOnly: false, kind: 'volume' },
    { destination: '/data', fs: vol, readOnly: false, kind: 'volume' },
    { destination: '/ro', fs: ro, readOnly: true, kind: 'volume' },
    { destination: '/etc/hostname', fs: etc, readOnly: false, file: 'hostname', kind: 'etc' },
    { destination: '/missing/parent/x', fs: inner, readOnly: false, kind: 'volume' },
  ]);
  return { root, vol, inner, ro, etc, view };
}

describe('ContainerView', () => {
  it('reads through mounts: a file mount, a volume over an image directory, a nested mount, one with no mount point in the image', async () => {
    const { view } = container();
    expect(text(view, '/etc/hostname')).toBe('myhost\n');
    expect(text(view, '/etc/passwd')).toBe('root:x:0:0\n');
    expect(text(view, '/data/v.txt')).toBe('volume\n');
    expect(resolvePath(view, '/data/shadowed')).toBeUndefined();
    expect(text(view, '/data/inner/deep.txt')).toBe('deep\n');
    expect(text(view, '/ro/r.txt')).toBe('ro\n');
    expect(statPath(view, '/ro')).toMatchObject({ name: 'ro', kind: 'directory' });
    expect(await names(view, '/data')).toEqual(['data/', 'data/abs', 'data/inner/', 'data/inner/deep.txt', 'data/rel', 'data/v.txt']);
    expect((await names(view, '/')).filter((n) => n.startsWith('ro') || n.startsWith('missing'))).toEqual(['ro/', 'ro/r.txt']);
  });

  it('.. and symlinks in a volume resolve in the container, clamped at its root', () => {
    const { view } = container();
    expect(text(view, '/data/abs')).toBe('root:x:0:0\n');
    expect(text(view, '/data/rel')).toBe('root:x:0:0\n');
    expect(text(view, '/data/inner/../../etc/hostname')).toBe('myhost\n');
    expect(text(view, '/data/../../../../etc/passwd')).toBe('root:x:0:0\n');
    expect(statPath(view, '/data/abs')).toMatchObject({ kind: 'symlink', linkTarget: '/etc/passwd' });
  });

  it('writes land in the mount, not the layer under it; read-only mounts and mount points refuse', () => {
    const { root, vol, inner, ro, view } = container();
    extractInto(view, '/data', [tarEntry({ name: 'new.txt' }, 'new\n'), tarEntry({ name: 'inner/n2' }, 'n2\n')]);
    expect(text(vol, '/new.txt')).toBe('new\n');
    expect(text(inner, '/n2')).toBe('n2\n');
    expect(resolvePath(root, '/data/new.txt')).toBeUndefined();
    expect(() => extractInto(view, '/ro', [tarEntry({ name: 'x' }, 'x')])).toThrow('mounted volume is marked read-only');
    expect(resolvePath(ro, '/x')).toBeUndefined();
    expect(() => extractInto(view, '/etc', [tarEntry({ name: 'hostname' }, 'x')])).toThrow('cannot write /etc/hostname: device or resource busy');
    expect(() => extractInto(view, '/', [tarEntry({ name: 'data', type: 'directory' })])).not.toThrow();
    expect(() => extractInto(view, '/', [tarEntry({ name: 'f' }, 'root\n')], { readOnlyRoot: true })).toThrow('container rootfs is marked read-only');
    expect(() => extractInto(view, '/data', [tarEntry({ name: 'ok' }, 'ok\n')], { readOnlyRoot: true })).not.toThrow();
    const dataDir = resolvePath(view, '/data')!;
    expect(() => view.rename(dataDir, 'v.txt', view.root(), 'moved')).toThrow(/EXDEV/);
    expect(() => view.unlink(view.root(), 'data', { directory: true })).toThrow(/EBUSY/);
  });
});
