/**
 * fsync in a container is durable (issue 10 Medium 8): a writable layer is saved to its snapshot
 * store on a timer, but a 9P Tfsync saves at once and its reply waits for the save, so what a
 * program synced survives its owner being killed right after; a failed save is the guest's EIO.
 * The same for a wasm module's fd_sync through its worker's channel.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LiveLayer } from '../../src/engine/snapshots/live.ts';
import { NodeFsSnapshotStore } from '../../src/engine/snapshots/node-fs.ts';
import type { RecordOp, SnapshotStore } from '../../src/engine/snapshots/store.ts';
import { Errno } from '../../src/fs/errno.ts';
import type { FileSystem } from '../../src/fs/types.ts';
import { decode, encode } from '../../src/p9/codec.ts';
import { NOFID, OpenFlags, type RMessage, type TMessage } from '../../src/p9/messages.ts';
import { P9Server } from '../../src/p9/server.ts';
import { TestClient } from '../p9/client.ts';
import { capture, fixture } from '../runtime/wasi/helpers.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const te = new TextEncoder();
const td = new TextDecoder();
const KEY = 'container/synced';
/** The save timer never fires during a test: only fsync (or close) saves. */
const opts = { lower: null, now: () => 1, flushMs: 3_600_000 };

/** What another process opening the store now would find in /f, or undefined. */
async function stored(store: SnapshotStore): Promise<string | undefined> {
  const fs: FileSystem = await LiveLayer.view(store, KEY, opts);
  try {
    const n = fs.lookup(fs.root(), 'f');
    return td.decode(fs.read(n, 0, fs.stat(n).size));
  } catch {
    return undefined;
  }
}

/** A server exporting the live layer; fid 1 is /f, open for writing, holding `text`. */
function serve(live: LiveLayer, text: string): { c: TestClient; fsync: () => Uint8Array | Promise<Uint8Array> } {
  const server = new P9Server();
  server.addExport('c', live.fs);
  const c = new TestClient(server);
  c.version();
  c.call({ type: 'Tattach', fid: 0, afid: NOFID, uname: 'root', aname: 'c', nUname: 0 });
  c.walk(0, 1, '');
  c.call({ type: 'Tlcreate', fid: 1, name: 'f', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
  c.call({ type: 'Twrite', fid: 1, offset: 0, data: te.encode(text) });
  return { c, fsync: () => server.handleAsync(encode({ type: 'Tfsync', tag: 77, fid: 1, datasync: 0 } as TMessage)) };
}

it('Tfsync answers only after the writable layer holds the write in its store', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-fsync-'));
  dirs.push(root);
  const store = new NodeFsSnapshotStore({ root });
  const live = await LiveLayer.open(store, KEY, opts);
  const { fsync } = serve(live, 'synced\n');
  // Written, not saved: a kill now would lose it (the timer is an hour away).
  expect(await stored(store)).toBeUndefined();
  const reply = fsync();
  expect(reply).toBeInstanceOf(Promise);
  expect((decode(await reply) as RMessage).type).toBe('Rfsync');
  expect(await stored(store)).toBe('synced\n');
  await live.close();
});

it('a save that fails is the guest\'s EIO on fsync, not a silent success', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-fsync-'));
  dirs.push(root);
  const real = new NodeFsSnapshotStore({ root });
  const failing: SnapshotStore = Object.assign(Object.create(Object.getPrototypeOf(real)) as SnapshotStore, real, {
    open: async (key: string) => {
      const w = await real.open(key);
      return { ...w, key: w.key, records: w.records, close: () => w.close(), commit: (_ops: Iterable<RecordOp>) => Promise.reject(new Error('disk full')) };
    },
  });
  const live = await LiveLayer.open(failing, KEY, opts);
  const { fsync } = serve(live, 'lost\n');
  const reply = decode(await fsync()) as RMessage;
  expect(reply).toMatchObject({ type: 'Rlerror', ecode: Errno.EIO });
  await live.close().catch(() => {});
});

it('fsync in a wasm module (WASI fd_sync from its worker) returns after the save', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-fsync-'));
  dirs.push(root);
  const store = new NodeFsSnapshotStore({ root });
  const live = await LiveLayer.open(store, KEY, opts);
  const module = fixture('fsops');
  const args = (sync: boolean) => ['fsops', 'write', '/f', 'from wasm\n', ...(sync ? ['sync', '/f'] : [])];
  // Without fsync the write is in the layer but not in its store when the module exits.
  const plain = await capture({ module, args: args(false), mounts: [{ path: '/', fs: live.fs }], mode: 'worker' });
  expect(plain.stdout).toBe('ok\n');
  expect(await stored(store)).toBeUndefined();
  const synced = await capture({ module, args: args(true), mounts: [{ path: '/', fs: live.fs }], mode: 'worker' });
  expect(synced.stdout).toBe('ok\nok\n');
  expect(await stored(store)).toBe('from wasm\n');
  await live.close();
});
