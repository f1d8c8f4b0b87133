/**
 * The 9P hook: Machine's handle9p option plugged into the real P9Server; the agent mounts two
 * exports (one host9p mount, bind-mounted per export) and unmounts one. The boot is restored from
 * a snapshot made before any mount, so the server starts with no fids to restore.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../../../src/fs/layer.ts';
import { Overlay } from '../../../src/fs/overlay.ts';
import { P9Server } from '../../../src/p9/server.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../../src/node.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';
import { dir, file, readText } from '../../fs/helpers.ts';

const home = mkdtempSync(join(tmpdir(), 'skiff-vm-p9-'));
const a = new Overlay({ lower: applyLayer(null, [dir('etc'), file('etc/name', 'export a\n')]) });
const b = new Overlay({ lower: applyLayer(null, [file('only-in-b', 'bee\n')]) });
let m: Machine;

beforeAll(async () => {
  const server = new P9Server();
  server.addExport('a', a);
  server.addExport('b', b);
  // A cold boot saves the snapshot; the second start restores it with the handler installed.
  await (await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home) })).shutdown();
  m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home), handle9p: (req) => server.handle(req) });
}, 240_000);

afterAll(async () => {
  await m?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

async function sh(script: string) {
  const p = await m.agent.spawn({ args: ['sh', '-c', script] });
  const [out, err, st] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  return { out, err, code: st.exitCode };
}

describe('9P exports in the guest', () => {
  it('mounts two exports of the one host9p device at their targets', async () => {
    expect(m.boot.restored).toBe(true);
    await m.agent.mount({ export: 'a', target: '/mnt/a' });
    await m.agent.mount({ export: 'b', target: '/mnt/b' });
    const r = await sh('cat /mnt/a/etc/name /mnt/b/only-in-b; ls /mnt/a; grep -c " 9p " /proc/mounts');
    expect(r).toEqual({ out: 'export a\nbee\netc\n3\n', err: '', code: 0 }); // host9p + two binds
  });

  it('lands guest writes in the JS overlay', async () => {
    const r = await sh('echo from-guest > /mnt/a/etc/new && mkdir /mnt/b/d');
    expect(r.code).toBe(0);
    expect(readText(a, 'etc/new')).toBe('from-guest\n');
    expect(b.readdir(b.root()).map((e) => e.name).sort()).toEqual(['d', 'only-in-b']);
  });

  it('unmounts an export and names a missing one in the error', async () => {
    await m.agent.umount({ target: '/mnt/b' });
    expect((await sh('ls /mnt/b | wc -l')).out.trim()).toBe('0');
    await expect(m.agent.mount({ export: 'nope', target: '/mnt/nope' })).rejects.toThrow(/mount export 'nope' on \/mnt\/nope/);
    await expect(m.agent.mount({ export: '../etc', target: '/mnt/x' })).rejects.toThrow(/bad export name/);
  });
});
