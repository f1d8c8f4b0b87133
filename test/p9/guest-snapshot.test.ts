/**
 * A VM snapshot restored into a new Machine keeps the guest's open files on the 9P mount working,
 * because the P9Server's fid table travels with the snapshot (saveState -> JSON -> restoreState).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Overlay } from '../../src/fs/overlay.ts';
import { P9Server, type P9ServerState } from '../../src/p9/server.ts';
import { Machine } from '../../src/runtime/vm/machine.ts';
import { nodeMachineOptions } from '../../src/node.ts';
import { sealSnapshot, type VmSnapshotStore } from '../../src/runtime/vm/snapshot-store.ts';
import { readText } from '../fs/helpers.ts';
import { lowerTree } from './client.ts';

const machines: Machine[] = [];
afterAll(async () => {
  for (const m of machines) await m.shutdown();
});

async function sh(m: Machine, script: string): Promise<string> {
  const p = await m.agent.spawn({ args: ['/bin/busybox', 'sh', '-c', script] });
  const [out, err, st] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  if (st.exitCode !== 0) throw new Error(`guest: exit ${st.exitCode}: ${err}`);
  return out;
}

describe('P9Server state across a VM snapshot', () => {
  it('serves the fids a restored guest still holds', async () => {
    const fs = new Overlay({ lower: lowerTree() });
    const before = new P9Server();
    before.addExport('c1', fs);
    const m1 = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (r) => before.handle(r), snapshots: null });
    machines.push(m1);
    await m1.agent.mkdir({ path: '/run/skiff/9p' }); // the agent does not create it yet
    await m1.agent.mount({ export: 'c1', target: '/mnt/c1' });
    // A process that holds an open file, an open directory (its cwd) and an open write fd on the
    // mount, and uses them only after the go signal (which comes after the restore).
    await sh(m1, [
      "cat > /tmp/holder <<'EOS'",
      'exec 3< /mnt/c1/etc/passwd',
      'exec 4>> /mnt/c1/etc/log',
      'cd /mnt/c1/usr/share',
      'echo before >&4',
      'touch /tmp/ready',
      'while [ ! -e /tmp/go ]; do sleep 0.05; done',
      '{ cat <&3; ls; echo after >&4; cat /mnt/c1/etc/log; } > /tmp/result 2>&1',
      'touch /tmp/done',
      'EOS',
      '/bin/busybox setsid /bin/busybox sh /tmp/holder < /dev/null > /dev/null 2>&1 &',
      'while [ ! -e /tmp/ready ]; do sleep 0.05; done',
    ].join('\n'));
    expect(readText(fs, 'etc/log')).toBe('before\n');

    const snapshot = await m1.saveSnapshot();
    const state = JSON.parse(JSON.stringify(before.saveState())) as P9ServerState;
    expect(state.fids.some((f) => f.export === 'c1' && f.path?.join('/') === 'etc/passwd' && f.openFlags !== null)).toBe(true);
    await m1.shutdown();

    // A new server over the same filesystem, its fids restored; a new Machine from the snapshot.
    const after = new P9Server();
    after.addExport('c1', fs);
    after.restoreState(state);
    // A store holds sealed entries (snapshot-store.ts): seal the state under the key asked for.
    const store: VmSnapshotStore = { get: (key) => sealSnapshot(key, snapshot.state), put: async () => {}, delete: async () => {} };
    const m2 = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (r) => after.handle(r), snapshots: store });
    machines.push(m2);
    expect(m2.boot.restored).toBe(true);
    await m2.agent.writeFile({ path: '/tmp/go', data: '' });
    await sh(m2, 'while [ ! -e /tmp/done ]; do sleep 0.05; done');
    expect(await sh(m2, 'cat /tmp/result')).toBe('root:x:0:0:root:/root:/bin/sh\ndoc\nbefore\nafter\n');
    expect(readText(fs, 'etc/log')).toBe('before\nafter\n');
  }, 300_000);
});
