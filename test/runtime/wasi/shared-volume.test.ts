/**
 * One volume, two backends: the same FileSystem is a WASI mount for a wasm container and a 9P
 * export for a Linux container (the P9Server the guest mounts). Writes, renames and symlinks made on
 * either side are seen by the other, and 9P fids stay valid across the wasm container's rename.
 */
import { describe, expect, it } from 'vitest';
import { Overlay } from '../../../src/fs/overlay.ts';
import { OpenFlags } from '../../../src/p9/messages.ts';
import { P9Server } from '../../../src/p9/server.ts';
import { TestClient } from '../../p9/client.ts';
import { capture, emptyOverlay, fixture } from './helpers.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('a volume shared by a wasm container and a Linux container (9P)', () => {
  it('sees each other\'s writes, renames and symlinks', async () => {
    const vol = new Overlay({ lower: null });
    const server = new P9Server();
    server.addExport('vol', vol);
    const linux = new TestClient(server);
    linux.version();
    linux.attach(0, 'vol');

    // The Linux side creates a file and keeps a fid on it.
    linux.walk(0, 1, '');
    linux.call({ type: 'Tlcreate', fid: 1, name: 'from-linux', flags: OpenFlags.WRONLY, mode: 0o644, gid: 0 });
    linux.call({ type: 'Twrite', fid: 1, offset: 0, data: enc.encode('written by linux') });

    const r = await capture({
      module: fixture('fsops'),
      args: ['fsops', 'cat', '/v/from-linux', 'mv', '/v/from-linux', '/v/renamed', 'write', '/v/from-wasm', 'written by wasm', 'ln-s', 'from-wasm', '/v/link'],
      mounts: [{ path: '/', fs: emptyOverlay() }, { path: '/v', fs: vol }],
    });
    expect(r.stdout).toBe('written by linux\nok\nok\nok\n');

    // The fid opened before the rename still reaches the same file, now named "renamed".
    linux.call({ type: 'Twrite', fid: 1, offset: 16, data: enc.encode('+more') });
    linux.walk(0, 2, 'renamed');
    linux.call({ type: 'Tlopen', fid: 2, flags: OpenFlags.RDONLY });
    expect(dec.decode(linux.readAll(2))).toBe('written by linux+more');
    linux.walk(0, 3, 'link');
    expect(linux.call({ type: 'Treadlink', fid: 3 }).target).toBe('from-wasm');
    linux.walk(0, 4, 'from-wasm');
    linux.call({ type: 'Tlopen', fid: 4, flags: OpenFlags.RDONLY });
    expect(dec.decode(linux.readAll(4))).toBe('written by wasm');

    const again = await capture({ module: fixture('fsops'), args: ['fsops', 'cat', '/v/renamed', 'ls', '/v'], mounts: [{ path: '/', fs: emptyOverlay() }, { path: '/v', fs: vol }] });
    expect(again.stdout).toBe('written by linux+more\nfrom-wasm link renamed\n');
  });
});
