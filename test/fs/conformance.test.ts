import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { HostDirFileSystem } from '../../src/fs/host-dir.ts';
import { applyLayer } from '../../src/fs/layer.ts';
import { Overlay } from '../../src/fs/overlay.ts';
import type { FileSystem } from '../../src/fs/types.ts';
import { ExportsRoot } from '../../src/p9/exports-root.ts';
import { ChannelClient, ChannelServer, createChannelBuffer } from '../../src/runtime/wasi/channel.ts';
import { FileSystemServer, RemoteFileSystem } from '../../src/runtime/wasi/remote-fs.ts';
import { fileSystemConformance } from './conformance.ts';
import { readOnlyConformance } from './conformance-readonly.ts';
import { hostFixture, writeEntries } from './host-fixture.ts';

// Everything in the lower layer (copy-up paths), and everything in a restored upper (no lower).
fileSystemConformance('Overlay over a lower layer', (entries) => new Overlay({ lower: applyLayer(null, entries) }));
fileSystemConformance('Overlay restored from an upper layer', (entries) => Overlay.fromUpper({ lower: null, entries }));
// Half below, half restored above: merges at every level.
fileSystemConformance('Overlay split across lower and upper', (entries) => {
  const lower = applyLayer(null, entries.filter((_, k) => k % 2 === 0 || entries[k]!.header.type === 'hardlink'));
  return Overlay.fromUpper({ lower, entries: entries.filter((e, k) => k % 2 === 1 && e.header.type !== 'hardlink') });
});

// With a quota that is never reached, nothing behaves differently.
fileSystemConformance('Overlay with a quota', (entries) => new Overlay({ lower: applyLayer(null, entries), quota: { bytes: 1 << 30, inodes: 1 << 20 } }), { seeds: 10 });

// A bind mount: a real host directory, with a sentinel beside it that no case may touch.
const fx = hostFixture('skiff-conformance-');
afterAll(() => {
  const changes = fx.changes();
  fx.cleanup();
  expect(changes).toEqual([]);
});
let binds = 0;
const hostDir = (entries: Parameters<typeof writeEntries>[1]): HostDirFileSystem => {
  const path = join(fx.bind, String(++binds));
  fs.mkdirSync(path);
  writeEntries(path, entries);
  return new HostDirFileSystem({ path });
};
const hostCaps = { mknod: false, xattrs: false, orphans: false, outside: fx.sentinel, seeds: 15 };
fileSystemConformance('HostDirFileSystem (a bind mount)', hostDir, hostCaps);

/** A worker's view of a host filesystem: every call through the WASI channel, answered in-line. */
function remote(target: FileSystem): RemoteFileSystem {
  const sab = createChannelBuffer(4096);
  const server = new ChannelServer(sab);
  const host = new FileSystemServer(target);
  const client = new ChannelClient(sab, (m) => {
    if (m.op === 'more') return server.replyMore();
    try {
      server.replyValue(host.handle(m.op, m.args));
    } catch (e) {
      server.replyError(e);
    }
  });
  return new RemoteFileSystem(client, 0, target.readOnly);
}
fileSystemConformance('RemoteFileSystem (WASI worker) over an Overlay', (entries) => remote(new Overlay({ lower: applyLayer(null, entries) })), { seeds: 10 });
fileSystemConformance('RemoteFileSystem (WASI worker) over a bind mount', (entries) => remote(hostDir(entries)), { ...hostCaps, seeds: 5 });

readOnlyConformance('ExportsRoot (9P directory of exports)', () => new ExportsRoot(() => ['skiff-init', 'c-1.0123456789abcdef0123456789abcdef']), { names: ['skiff-init'] });
readOnlyConformance('read-only Overlay', () => new Overlay({ lower: applyLayer(null, []), readOnly: true }), { names: [] });
