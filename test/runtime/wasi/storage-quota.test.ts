/**
 * `--storage-opt size=` seen from inside a wasm container: a program writing past the quota gets
 * ENOSPC from write(2) and carries on (it prints the errno and exits 1), the engine stays up, and
 * the layer keeps what fit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../../src/content/memory.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryStateStore } from '../../../src/engine/state/memory.ts';
import type { FsNode } from '../../../src/fs/types.ts';
import { nodeWasiSpawn } from '../../../src/node.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import { WasiRuntime } from '../../../src/runtime/wasi/runtime.ts';
import { tar } from '../../engine/fixtures/images.ts';
import { fixture } from './helpers.ts';

const MiB = 2 ** 20;
const dec = new TextDecoder();
let e: Engine;

beforeAll(async () => {
  e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { wasi: () => new WasiRuntime({ spawn: nodeWasiSpawn() }) } });
  await e.importImage({
    data: tar([{ name: 'bin/', type: 'directory' }, { name: 'bin/fsops.wasm', content: fixture('fsops'), mode: 0o755 }]),
    ref: 'quota/wasi:1', platform: { os: 'wasi', architecture: 'wasm' }, changes: { Entrypoint: ['/bin/fsops.wasm'] },
  });
}, 120_000);
afterAll(() => e?.shutdown());

async function run(cmd: string[], flags: string[]) {
  let out = '';
  const r = await e.runContainer({ image: 'quota/wasi:1', cmd, run: parseRunFlags({ storageOpt: flags }), io: { onStdout: (d) => void (out += dec.decode(d)), onStderr: () => {} } });
  return { ...r, out };
}

function fileSize(fs: Awaited<ReturnType<Engine['containerFs']>>, name: string): number {
  const n: FsNode = fs.lookup(fs.root(), name);
  return fs.stat(n).size;
}

describe('storage quota in a wasm container', () => {
  it('size=1m: writing 8 MiB fails with ENOSPC after the first MiB; the file keeps that MiB', async () => {
    const r = await run(['big', '/f', '8', 'stat', '/f', 'write', '/small', 'x'], ['size=1m']);
    // big: one 1 MiB write fits, the second fails; the program goes on to the next verbs.
    expect(r.out).toBe('errno ENOSPC\nok\nfile 1048576\nerrno ENOSPC\n');
    expect(r.exit.exitCode).toBe(1);
    const fs = await e.containerFs({ id: r.id });
    expect(fileSize(fs, 'f')).toBe(MiB);
    expect(fs.statfs()).toMatchObject({ blocks: 256, blocksFree: 0 });
    expect(await e.inspectContainer({ id: r.id })).toMatchObject({ state: 'exited', exitCode: 1 });
  }, 60_000);

  it('without --storage-opt the same program writes its 8 MiB (the default quota is 1 GiB)', async () => {
    const r = await run(['big', '/f', '8', 'stat', '/f'], []);
    expect(r.out).toBe('ok\nfile 8388608\n');
    expect(r.exit.exitCode).toBe(0);
  }, 60_000);
});
