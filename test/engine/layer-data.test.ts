/**
 * Image layers read on demand (issue 15): every file of a umoci-built image, read through 9P and
 * through a WASI module, has umoci's unpack bytes, with a chunk cache far smaller than the image,
 * from a store that reads synchronously (Node files) and from one that only reads asynchronously
 * (as IndexedDB does); a stored copy corrupted on disk is refused, never served.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompress, readTar } from '../../src/archive/index.ts';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import type { ContentStore } from '../../src/content/store.ts';
import { Engine } from '../../src/engine/engine.ts';
import { layerDataRecords } from '../../src/engine/layer-index.ts';
import { LayerCache } from '../../src/engine/layers.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { ImageRecord } from '../../src/engine/types.ts';
import { FsError } from '../../src/fs/errno.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import { PendingIO, retryAfterIO } from '../../src/fs/pending-io.ts';
import type { FileSystem, FsNode } from '../../src/fs/types.ts';
import { decode, encode } from '../../src/p9/codec.ts';
import { NOFID, NONUNAME, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { requireTool } from '../helpers/peers.ts';
import { capture, fixture } from '../runtime/wasi/helpers.ts';

const SCRIPT = join(import.meta.dirname, '..', 'fixtures', 'make-lazy-layers-image.sh');
const MiB = 1 << 20;

let dir: string;
let rootfs: string;
let archive: Uint8Array;
/** Regular files of umoci's unpack: path (from /) -> bytes. */
const expected = new Map<string, Uint8Array>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-lazy-'));
  requireTool('umoci', 'umoci');
  execFileSync('bash', [SCRIPT, join(dir, 'fixture')], { stdio: ['ignore', 'ignore', 'inherit'] });
  rootfs = join(dir, 'fixture', 'rootfs');
  archive = new Uint8Array(readFileSync(join(dir, 'fixture', 'image.tar')));
  const walk = (rel: string) => {
    for (const name of readdirSync(join(rootfs, rel))) {
      const p = `${rel}/${name}`;
      const st = lstatSync(join(rootfs, p));
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) expected.set(p, new Uint8Array(readFileSync(join(rootfs, p))));
    }
  };
  walk('');
}, 120_000);
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A content store whose range reads only ever complete later, as IndexedDB's do. */
function asyncOnly(store: NodeFsContentStore): ContentStore {
  return {
    has: (d) => store.has(d), info: (d) => store.info(d), get: (d) => store.get(d), list: () => store.list(),
    stream: (d, o) => store.stream(d, o), ingest: () => store.ingest(), delete: (d) => store.delete(d),
    readRange: async (d, off, len) => { await new Promise((r) => setTimeout(r, 0)); return store.readRange(d, off, len); },
  };
}

interface Setup { content: NodeFsContentStore; state: MemoryStateStore; image: ImageRecord }

async function loaded(): Promise<Setup> {
  const content = new NodeFsContentStore({ root: mkdtempSync(join(dir, 'store-')), sync: false });
  const state = new MemoryStateStore();
  const e = new Engine({ content, state });
  const res = await e.loadArchive({ data: archive, name: 'image.tar' });
  const image = await e.resolveImage({ ref: res.images[0]!.digest });
  return { content, state, image };
}

async function overlayOf(s: Setup, store: ContentStore, cacheBytes: number): Promise<{ fs: Overlay; cache: LayerCache }> {
  const cache = new LayerCache(store, { chunkCacheBytes: cacheBytes, state: s.state });
  return { fs: new Overlay({ lower: await cache.tree(s.image), readOnly: true }), cache };
}

// ---- a 9P client that waits for replies, as v86 does ----

class Client {
  private tag = 1;
  private fid = 10;
  constructor(private readonly server: P9Server) {}
  async call(msg: Omit<TMessage, 'tag'>): Promise<RMessage> {
    const r = await this.server.handleAsync(encode({ ...msg, tag: this.tag++ } as TMessage));
    return decode(r) as RMessage;
  }
  async attach(): Promise<void> {
    await this.call({ type: 'Tversion', msize: 128 * 1024, version: '9P2000.L' } as Omit<TMessage, 'tag'>);
    const r = await this.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'root', aname: 'root', nUname: NONUNAME } as Omit<TMessage, 'tag'>);
    expect(r.type).toBe('Rattach');
  }
  /** The whole file at `path`, or the errno its read failed with. */
  async readFile(path: string): Promise<Uint8Array | number> {
    const fid = this.fid++;
    const w = await this.call({ type: 'Twalk', fid: 1, newfid: fid, wnames: path.split('/').filter(Boolean) } as Omit<TMessage, 'tag'>);
    if (w.type !== 'Rwalk') throw new Error(`walk ${path}: ${JSON.stringify(w)}`);
    const o = await this.call({ type: 'Tlopen', fid, flags: 0 } as Omit<TMessage, 'tag'>);
    if (o.type !== 'Rlopen') throw new Error(`open ${path}: ${JSON.stringify(o)}`);
    const parts: Uint8Array[] = [];
    let offset = 0;
    try {
      for (;;) {
        const r = await this.call({ type: 'Tread', fid, offset, count: 100_000 } as Omit<TMessage, 'tag'>);
        if (r.type === 'Rlerror') return r.ecode;
        if (r.type !== 'Rread') throw new Error(`read ${path}: ${r.type}`);
        if (r.data.length === 0) break;
        parts.push(r.data.slice());
        offset += r.data.length;
      }
    } finally {
      await this.call({ type: 'Tclunk', fid } as Omit<TMessage, 'tag'>);
    }
    return Buffer.concat(parts);
  }
}

async function readAllThrough9p(fs: FileSystem): Promise<Map<string, Uint8Array | number>> {
  const server = new P9Server();
  server.addExport('root', fs, { readOnly: true });
  const c = new Client(server);
  await c.attach();
  const got = new Map<string, Uint8Array | number>();
  for (const p of expected.keys()) got.set(p, await c.readFile(p));
  return got;
}

/** fsops.c's `sum`: s = s * 131 + byte, mod 2^64. */
function fsopsSum(b: Uint8Array): bigint {
  let s = 0n;
  for (const x of b) s = (s * 131n + BigInt(x)) & 0xffffffffffffffffn;
  return s;
}

function lookupPath(fs: FileSystem, path: string): FsNode {
  let n = fs.root();
  for (const part of path.split('/').filter(Boolean)) n = fs.lookup(n, part);
  return n;
}

describe('image layers read on demand', () => {
  for (const mode of ['sync store (Node files)', 'async-only store (as IndexedDB)'] as const) {
    it(`every file through 9P has umoci's bytes, 1 MiB cache, ${mode}`, async () => {
      const s = await loaded();
      const store = mode.startsWith('sync') ? s.content : asyncOnly(s.content);
      const { fs, cache } = await overlayOf(s, store, MiB);
      const imageBytes = s.image.layers.reduce((n, l) => n + l.uncompressedSize, 0);
      expect(imageBytes).toBeGreaterThan(6 * MiB);
      const got = await readAllThrough9p(fs);
      for (const [p, want] of expected) expect(Buffer.compare(got.get(p) as Uint8Array, want), p).toBe(0);
      expect(cache.chunks.bytes).toBeLessThanOrEqual(MiB);
      // Symlinks and hard links are the tree's, not bytes: check they came through too.
      expect(fs.readlink(lookupPath(fs, '/bin/big-link'))).toBe(readlinkSync(join(rootfs, 'bin/big-link')));
      expect(fs.stat(lookupPath(fs, '/bin/tool')).nlink).toBe(2);
    }, 60_000);
  }

  it('a synchronous read from an async-only store throws PendingIO (EAGAIN), then succeeds from the cache', async () => {
    const s = await loaded();
    const { fs } = await overlayOf(s, asyncOnly(s.content), MiB);
    const node = lookupPath(fs, '/data/one-chunk-and-a-byte');
    let pending: unknown;
    try { fs.read(node, 0, 70_000); } catch (e) { pending = e; }
    expect(pending).toBeInstanceOf(PendingIO);
    expect((pending as PendingIO).errno).toBe(11);
    await (pending as PendingIO).wait;
    expect(Buffer.compare(fs.read(node, 0, 70_000), expected.get('/data/one-chunk-and-a-byte')!)).toBe(0);
  });

  it('writes to an image file copy only what they touch and read back exactly (copy-up over a lazy file)', async () => {
    const s = await loaded();
    const cache = new LayerCache(asyncOnly(s.content), { chunkCacheBytes: MiB, state: s.state });
    const fs = new Overlay({ lower: await cache.tree(s.image) });
    const server = new P9Server();
    server.addExport('root', fs);
    const c = new Client(server);
    await c.attach();
    await c.call({ type: 'Twalk', fid: 1, newfid: 5, wnames: ['data', 'big'] } as Omit<TMessage, 'tag'>);
    await c.call({ type: 'Tlopen', fid: 5, flags: 2 } as Omit<TMessage, 'tag'>);
    const w = await c.call({ type: 'Twrite', fid: 5, offset: 100_000, data: new Uint8Array([1, 2, 3]) } as Omit<TMessage, 'tag'>);
    expect(w.type).toBe('Rwrite');
    const want = expected.get('/data/big')!.slice();
    want.set([1, 2, 3], 100_000);
    expect(Buffer.compare(await c.readFile('/data/big') as Uint8Array, want)).toBe(0);
  });

  it('every file read by a WASI module (worker, synchronous channel) has the same checksum as umoci\'s', async () => {
    const s = await loaded();
    for (const store of [s.content, asyncOnly(s.content)]) {
      const { fs } = await overlayOf(s, store, MiB);
      const paths = [...expected.keys()];
      const r = await capture({ module: fixture('fsops'), args: ['fsops', ...paths.flatMap((p) => ['sum', p])], mounts: [{ path: '/', fs }] });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length, r.stdout).toBe(paths.length);
      paths.forEach((p, i) => expect(lines[i], p).toBe(`${expected.get(p)!.length} bytes sum ${fsopsSum(expected.get(p)!)}`));
    }
  }, 60_000);

  it('a stored copy corrupted on disk is refused with EIO naming the layer and chunk, never served', async () => {
    const s = await loaded();
    await overlayOf(s, s.content, MiB); // makes the layer data
    const recs = await layerDataRecords(s.state);
    // The copy of the top layer holds data/sub/new (1.2 MB): flip one byte in the middle of it.
    const top = recs.find((r) => r.layer === s.image.layers[1]!.digest)!;
    const path = s.content.blobPath(top.copy);
    const bytes = readFileSync(path);
    const want = expected.get('/data/sub/new')!;
    const at = bytes.indexOf(want.subarray(0, 64)) + 600_000;
    expect(at).toBeGreaterThan(600_000);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(path, bytes);
    for (const store of [s.content, asyncOnly(s.content)]) {
      const { fs } = await overlayOf(s, store, MiB);
      const got = await readAllThrough9p(fs);
      const failed = [...got].filter(([, v]) => typeof v === 'number');
      expect(failed.map(([p]) => p)).toEqual(['/data/sub/new']);
      expect(failed[0]![1]).toBe(5); // EIO
      // Everything else is still served intact.
      for (const [p, v] of got) if (typeof v !== 'number') expect(Buffer.compare(v, expected.get(p)!), p).toBe(0);
      // The error says what happened.
      const node = lookupPath(fs, '/data/sub/new');
      const err = await Promise.resolve().then(() => retryAfterIO(() => fs.read(node, 0, want.length))).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(FsError);
      expect((err as FsError).message).toMatch(new RegExp(`EIO: layer ${top.copy}: chunk \\d+ .*corrupted`));
    }
  }, 60_000);

  it('a container of an async-store image saves a changed image file whole, and it reads back the same', async () => {
    const s = await loaded();
    const store = asyncOnly(s.content);
    const e = new Engine({ content: store, state: s.state, layerCache: { chunkCacheBytes: MiB } });
    const c = await e.createContainer({ image: s.image.digest });
    const fs = await e.containerFs({ id: c.id });
    const node = lookupPath(fs, '/data/big');
    await retryAfterIO(() => fs.write(node, 10, new Uint8Array([9, 9])));
    await e.persistContainer({ id: c.id });
    const want = expected.get('/data/big')!.slice();
    want.set([9, 9], 10);
    const again = new Engine({ content: store, state: s.state, snapshots: Engine.contextOf(e).snapshots, layerCache: { chunkCacheBytes: MiB } });
    const fs2 = await again.containerFs({ id: c.id });
    const got = await retryAfterIO(() => fs2.read(lookupPath(fs2, '/data/big'), 0, want.length));
    expect(Buffer.compare(got, want)).toBe(0);
  }, 60_000);

  it('export and commit of a container read image bytes from an async-only store (waiting, not failing)', async () => {
    const s = await loaded();
    const store = asyncOnly(s.content);
    const e = new Engine({ content: store, state: s.state, layerCache: { chunkCacheBytes: MiB } });
    const c = await e.createContainer({ image: s.image.digest });
    const fs = await e.containerFs({ id: c.id });
    // chmod copies the file up without touching its bytes: they still come from the image.
    fs.setattr(lookupPath(fs, '/data/one-chunk-and-a-byte'), { mode: 0o600 });
    const parts: Uint8Array[] = [];
    for await (const chunk of await e.exportContainer({ id: c.id })) parts.push(chunk);
    const files = new Map<string, Uint8Array>();
    const key = (n: string) => `/${n.replace(/^\.?\//, '')}`;
    for (const x of readTar(Buffer.concat(parts))) {
      if (x.header.type === 'file') files.set(key(x.header.name), x.data);
      else if (x.header.type === 'hardlink') files.set(key(x.header.name), files.get(key(x.header.linkname))!);
    }
    for (const [p, want] of expected) expect(Buffer.compare(files.get(p)!, want), p).toBe(0);
    const committed = await e.commitContainer({ id: c.id, ref: 'lazy-commit:1' });
    const top = committed.layers.at(-1)!;
    const layer = readTar(await decompress(await store.get(top.digest)));
    const f = layer.find((x) => x.header.name.endsWith('one-chunk-and-a-byte'))!;
    expect(f.header.mode & 0o777).toBe(0o600);
    expect(Buffer.compare(f.data, expected.get('/data/one-chunk-and-a-byte')!)).toBe(0);
  }, 60_000);

  it('system df counts the layer data; prune frees what no container uses, and the next use makes it again', async () => {
    const s = await loaded();
    const e = new Engine({ content: s.content, state: s.state });
    await e.loadArchive({ data: archive, name: 'image.tar' }); // existed: nothing new, data made on first use below
    const c = await e.createContainer({ image: s.image.digest });
    await e.containerFs({ id: c.id });
    const records = await layerDataRecords(s.state);
    expect(records.map((r) => r.layer).sort()).toEqual(s.image.layers.map((l) => l.digest).sort());
    const du = await e.diskUsage();
    const copies = records.reduce((n, r) => n + r.copySize + r.indexSize, 0);
    expect(du.layerData).toEqual({ total: 2, active: 2, size: copies, reclaimable: 0 });
    // In use by a container: prune keeps it.
    await e.pruneImages({ all: true });
    expect((await layerDataRecords(s.state)).length).toBe(2);
    for (const r of records) expect(await s.content.has(r.copy)).toBe(true);
    await e.removeContainer({ id: c.id });
    expect((await e.diskUsage()).layerData).toMatchObject({ total: 2, active: 0, reclaimable: copies });
    // Tagged but unused: the image stays, its layer data goes (a cache), and comes back on use.
    await e.tag({ source: s.image.digest, target: 'kept:1' });
    const pruned = await e.pruneImages();
    expect(pruned.deleted).toEqual([]);
    expect(pruned.reclaimed).toBe(copies);
    expect(await layerDataRecords(s.state)).toEqual([]);
    for (const r of records) expect(await s.content.has(r.copy)).toBe(false);
    expect(await s.content.has(s.image.layers[0]!.digest)).toBe(true);
    const c2 = await e.createContainer({ image: 'kept:1' });
    const fs = await e.containerFs({ id: c2.id });
    expect(Buffer.compare(fs.read(lookupPath(fs, '/data/big'), 0, 2_000_000), expected.get('/data/big')!)).toBe(0);
    expect((await layerDataRecords(s.state)).length).toBe(2);
  }, 60_000);
});
