import { describe, expect, it } from 'vitest';
import { readTar } from '../../src/archive/index.ts';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { openEngine } from '../../src/node.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import { buildImage, drain, ociArchive } from './fixtures/images.ts';

const td = new TextDecoder();
const te = new TextEncoder();

function walk(fs: FileSystem, path: string): FsNode {
  let n = fs.root();
  for (const p of path.split('/').filter(Boolean)) n = fs.lookup(n, p);
  return n;
}

async function setup() {
  const content = new MemoryContentStore();
  const state = new MemoryStateStore();
  const e = new Engine({ content, state });
  const img = buildImage({
    layers: [
      { files: [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: '#!sh', mode: 0o755 }, { name: 'etc/', type: 'directory' }, { name: 'etc/hostname', content: 'box\n' }, { name: 'etc/passwd', content: 'root:x:0:0\n' }], gzip: true },
      { files: [{ name: 'etc/motd', content: 'hello\n' }, { name: 'etc/.wh.hostname' }] },
    ],
    cmd: ['sh', '-c', 'echo hi'],
  });
  await e.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/box:1'] }]) });
  return { content, state, e, img };
}

describe('containers', () => {
  it('create fills the process from the image config and the overrides, and refuses a duplicate name', async () => {
    const { e, img } = await setup();
    const c = await e.createContainer({ image: 'box:1', name: 'web', env: ['A=1'], workdir: '/tmp' });
    expect(c).toMatchObject({ name: 'web', image: img.manifestDigest, imageId: img.configDigest, state: 'created', runtime: 'vm', platform: 'linux/386' });
    expect(c.spec).toMatchObject({ args: ['sh', '-c', 'echo hi'], cmd: ['sh', '-c', 'echo hi'], entrypoint: [], cwd: '/tmp', env: ['A=1', 'PATH=/usr/bin:/bin'] });
    expect(c.id).toMatch(/^[0-9a-f]{64}$/);
    await expect(e.createContainer({ image: 'box:1', name: 'web' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('"/web" is already in use') });
    const ep = await e.createContainer({ image: 'box:1', entrypoint: ['/bin/sh'] });
    expect(ep.spec).toMatchObject({ entrypoint: ['/bin/sh'], cmd: [], args: ['/bin/sh'] });
    expect((await e.listContainers({ all: true })).length).toBe(2);
    await expect(e.renameContainer({ id: ep.id, name: 'web' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await e.renameContainer({ id: ep.id, name: 'api' })).name).toBe('api');
    expect((await e.inspectContainer({ id: 'api' })).id).toBe(ep.id);
    expect(await e.listContainers()).toEqual([]);
  });

  it('create resolves the spec once, with Docker rules and errors at create time', async () => {
    const { e } = await setup();
    const { tar } = await import('./fixtures/images.ts');
    await e.importImage({ data: tar([{ name: 'x', content: '' }]), ref: 'odd:1', changes: { Env: ['OK=1'], Cmd: ['run'], StopSignal: 'SIGQUIT' } });
    // -e overrides the image's Env by key (Docker's Config.Env; PATH, HOSTNAME, TERM come at start).
    const c = await e.createContainer({ image: 'odd:1', env: ['OK=2'], tty: true, run: { volumes: [{ type: 'volume', destination: '/scratch', readOnly: false, copyData: true }] } });
    expect(c.spec.env).toEqual(['OK=2']);
    expect(c.spec).toMatchObject({ args: ['run'], cwd: '/', stopSignal: 3, stopTimeout: 10, tty: true });
    // The anonymous volume exists from create on, under the name the spec records.
    const anon = c.spec.mounts[0]!;
    expect(anon).toMatchObject({ type: 'volume', destination: '/scratch', anonymous: true });
    expect((await e.inspectVolume({ name: (anon as { name: string }).name })).anonymous).toBe(true);
    // A relative working directory (image or -w) is refused at create, and nothing is stored.
    await e.importImage({ data: tar([{ name: 'x', content: '' }]), ref: 'rel:1', changes: { WorkingDir: 'app', Cmd: ['run'] } });
    const before = (await e.listContainers({ all: true })).length;
    await expect(e.createContainer({ image: 'rel:1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: "the working directory 'app' is invalid, it needs to be an absolute path" });
    await expect(e.createContainer({ image: 'odd:1', workdir: 'rel' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await e.listContainers({ all: true })).length).toBe(before);
  });

  it('a record written before container specs opens: its spec is resolved from what it stored', async () => {
    const { e, state, img } = await setup();
    const id = 'ab'.repeat(32);
    const put = (key: string, rec: unknown) => state.transaction((tx) => tx.put('containers', key, rec));
    await put(id, {
      id, name: 'old', imageRef: 'box:1', image: img.manifestDigest, imageId: img.configDigest, platform: 'linux/386',
      process: { entrypoint: ['/bin/sh'], cmd: ['-c', 'echo hi'], env: ['PATH=/usr/bin:/bin', 'A=1'], workdir: '/tmp', user: 'root', tty: false, openStdin: true },
      labels: {}, hostname: 'oldhost', runtime: 'vm', state: 'exited', exitCode: 0, created: '2026-01-01T00:00:00.000Z', upper: null,
      run: { rm: true, memory: 64 << 20, stopSignal: 2, tmpfs: [{ destination: '/run', options: ['noexec'] }] },
      mounts: [{ type: 'volume', name: 'v1', destination: '/data', readOnly: false, anonymous: true, copyData: true }, { type: 'bind', source: '/h', destination: '/h', readOnly: true }],
    });
    const rec = await e.inspectContainer({ id: 'old' });
    expect(rec).toMatchObject({ autoRemove: true, spec: {
      args: ['/bin/sh', '-c', 'echo hi'], entrypoint: ['/bin/sh'], cmd: ['-c', 'echo hi'], cwd: '/tmp', user: 'root', hostname: 'oldhost', openStdin: true,
      env: ['PATH=/usr/bin:/bin', 'A=1'], limits: { memory: 64 << 20 }, stopSignal: 2, tmpfs: [{ destination: '/run', options: ['noexec'] }],
      mounts: [{ type: 'volume', name: 'v1', destination: '/data', anonymous: true, copyData: true }, { type: 'bind', source: '/h', destination: '/h', readOnly: true, propagation: 'rprivate' }],
    } });
    expect(rec).not.toHaveProperty('process');
    expect((await e.listContainers({ all: true })).find((c) => c.id === id)?.spec.args).toEqual(['/bin/sh', '-c', 'echo hi']);
    // One that cannot be converted says so, naming the container and the way out.
    await put('cd'.repeat(32), { ...(await state.get<object>('containers', id))!, id: 'cd'.repeat(32), name: 'bad', process: { entrypoint: [], cmd: ['x'], env: [], workdir: 'rel', user: '', tty: false, openStdin: false } });
    await expect(e.inspectContainer({ id: 'bad' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/container bad: converting its record from an older skiff.*skiff rm bad.*working directory 'rel'/) });
  });

  it('writes go to the container layer, persist, and show up in export and diff from a new engine', async () => {
    const { e, content, state } = await setup();
    const c = await e.createContainer({ image: 'box:1', name: 'w1' });
    const fs = await e.containerFs({ id: 'w1' });
    expect(td.decode(fs.read(walk(fs, 'etc/motd'), 0, 100))).toBe('hello\n');
    // Deleted by the image's second layer; back as the init layer's empty mount point (Docker's too).
    expect(fs.stat(walk(fs, 'etc/hostname')).size).toBe(0);
    const f = fs.create(walk(fs, 'etc'), 'new.txt', { mode: 0o600, uid: 1, gid: 2 });
    fs.write(f, 0, te.encode('data'));
    fs.unlink(walk(fs, 'etc'), 'passwd');
    await e.persistContainer({ id: c.id });

    const e2 = new Engine({ content, state });
    const changes = await e2.containerChanges({ id: c.id.slice(0, 8) });
    expect(changes).toEqual([{ kind: 'C', path: '/etc' }, { kind: 'A', path: '/etc/new.txt' }, { kind: 'D', path: '/etc/passwd' }]);
    const tar = await drain(await e2.exportContainer({ id: 'w1' }));
    const byName = new Map(readTar(tar).map((x) => [x.header.name.replace(/^\.?\//, '').replace(/\/$/, ''), x]));
    // The init layer's mount points are in an export, as in Docker's, but never in the diff.
    expect([...byName.keys()].filter(Boolean).sort()).toEqual([
      'bin', 'bin/sh', 'dev', 'etc', 'etc/hostname', 'etc/hosts', 'etc/motd', 'etc/new.txt', 'etc/resolv.conf', 'proc', 'sys',
    ]);
    expect(td.decode(byName.get('etc/new.txt')!.data)).toBe('data');
    expect(byName.get('etc/new.txt')!.header).toMatchObject({ mode: 0o600, uid: 1, gid: 2 });
  });

  it('rmi refuses while a container uses the image, unless forced; rm frees the upper blob', async () => {
    const { e, content } = await setup();
    const c = await e.createContainer({ image: 'box:1', name: 'u1' });
    await expect(e.removeImage({ ref: 'box:1' })).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining(`container ${c.id.slice(0, 12)} is using`) });
    const fs = await e.containerFs({ id: 'u1' });
    fs.mkdir(fs.root(), 'data', { mode: 0o755, uid: 0, gid: 0 });
    const rec = await e.persistContainer({ id: 'u1' });
    expect(rec.upper!.size).toBeGreaterThan(0);
    expect(await Engine.contextOf(e).snapshots.list()).toEqual([`container/${c.id}`]);
    const forced = await e.removeImage({ ref: 'box:1', force: true });
    expect(forced).toEqual({ untagged: ['docker.io/library/box:1'], deleted: [] });
    // the image stays (dangling) while the container needs it
    expect((await e.listImages()).map((i) => i.repository)).toEqual(['<none>']);
    await e.removeContainer({ id: 'u1' });
    expect(await Engine.contextOf(e).snapshots.list()).toEqual([]);
    await expect(e.inspectContainer({ id: 'u1' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'No such container: u1' });
    const pruned = await e.pruneImages();
    expect(pruned.deleted.length).toBe(1);
    expect(await content.list()).toEqual([]);
  });
});

describe('commit', () => {
  it("a committed image carries the container's writes and deletions and round-trips through save/load", async () => {
    const { e } = await setup();
    const c = await e.createContainer({ image: 'box:1', name: 'cm' });
    const fs = await e.containerFs({ id: c.id });
    fs.write(fs.create(walk(fs, 'etc'), 'added', { mode: 0o640, uid: 0, gid: 0 }), 0, te.encode('new file'));
    fs.unlink(walk(fs, 'etc'), 'passwd');
    const img = await e.commitContainer({ id: 'cm', ref: 'box:committed', message: 'add a file', changes: ['CMD ["/bin/sh", "-c", "cat /etc/added"]'] });
    expect(img.layers.length).toBe(3);
    expect(img.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const hist = await e.history({ ref: 'box:committed' });
    expect(hist[0]).toMatchObject({ id: img.id, createdBy: 'sh -c echo hi', comment: 'add a file' });
    const c2 = await e.createContainer({ image: 'box:committed' });
    expect(c2.spec.cmd).toEqual(['/bin/sh', '-c', 'cat /etc/added']);
    const fs2 = await e.containerFs({ id: c2.id });
    expect(td.decode(fs2.read(walk(fs2, 'etc/added'), 0, 100))).toBe('new file');
    expect(() => walk(fs2, 'etc/passwd')).toThrow(/ENOENT/);
    // what we wrote is a valid image: it loads (every digest checked) elsewhere with the same digest
    const oci = await drain(await e.saveArchive({ refs: ['box:committed'], format: 'oci' }));
    const other = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore() });
    const res = await other.loadArchive({ data: oci, name: 'committed.tar' });
    expect(res.images[0]).toMatchObject({ digest: img.digest, id: img.id, tags: ['docker.io/library/box:committed'] });
  });
});

describe('containers on disk (openEngine)', () => {
  it('a later engine over the same $SKIFF_HOME sees the persisted writes', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = await mkdtemp(join(tmpdir(), 'skiff-home-'));
    try {
      const e1 = await openEngine({ home, bundled: false });
      const img = buildImage({ layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/a', content: 'a' }] }] });
      await e1.loadArchive({ data: ociArchive([{ image: img, tags: ['docker.io/library/disk:1'] }]) });
      const c = await e1.createContainer({ image: 'disk:1', name: 'persist' });
      const fs = await e1.containerFs({ id: c.id });
      fs.write(fs.create(fs.lookup(fs.root(), 'etc'), 'b', { mode: 0o644, uid: 0, gid: 0 }), 0, te.encode('written'));
      await e1.persistContainer({ id: c.id });
      const e2 = await openEngine({ home, bundled: false });
      const tar = await drain(await e2.exportContainer({ id: 'persist' }));
      const b = readTar(tar).find((x) => x.header.name.replace(/^\.?\//, '') === 'etc/b');
      expect(td.decode(b!.data)).toBe('written');
      expect(await e2.containerChanges({ id: 'persist' })).toEqual([{ kind: 'C', path: '/etc' }, { kind: 'A', path: '/etc/b' }]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
