/**
 * Issue 10 High 1 as the guest does it: plain busybox in the VM, a host directory exported the way
 * `-v` does it (HostDirFileSystem under a secret export name), an open fd whose name is then
 * replaced by a symlink to a host file, and chmod/truncate through /proc/self/fd. The host file
 * outside the bind must not change.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../src/fs/host-dir.ts';
import { secretName } from '../../src/p9/exports-root.ts';
import { P9Server } from '../../src/p9/server.ts';
import type { AgentProcess } from '../../src/runtime/vm/agent-process.ts';
import { nodeMachineOptions } from '../../src/node.ts';
import { Machine } from '../../src/runtime/vm/machine.ts';
import { hostFixture } from '../fs/host-fixture.ts';

const fx = hostFixture('skiff-guest-bind-');
let m: Machine;

async function sh(script: string): Promise<{ out: string; err: string; code: number }> {
  const p: AgentProcess = await m.agent.spawn({ args: ['/bin/busybox', 'sh', '-c', script] });
  const [out, err, status] = await Promise.all([p.stdout.text(), p.stderr.text(), p.wait()]);
  return { out, err, code: status.exitCode };
}

beforeAll(async () => {
  fs.writeFileSync(join(fx.bind, 'b'), 'bee\n');
  const server = new P9Server();
  const name = secretName('v-1');
  server.addExport(name, new HostDirFileSystem({ path: fx.bind }));
  m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), handle9p: (req) => server.handle(req), snapshots: null });
  await m.agent.mkdir({ path: '/run/skiff/9p' });
  await m.agent.mount({ export: name, target: '/mnt/h' });
}, 240_000);

afterAll(async () => {
  await m?.shutdown();
  fx.cleanup();
});

describe('a bind mount seen from the guest', () => {
  it('chmod and truncate through an fd whose name became a symlink to a host file change nothing outside', async () => {
    const r = await sh([
      'cd /mnt/h',
      'exec 3<b',
      `ln -s ${fx.sentinel} a`,
      'mv -f a b',
      'chmod 777 /proc/self/fd/3; echo chmod=$?',
      '(truncate -s 0 /proc/self/fd/3) 2>/dev/null; echo truncate=$?',
      '(: > /proc/self/fd/3) 2>/dev/null; echo redirect=$?',
      'ls -l b | cut -c1',
    ].join('\n'));
    expect(r.out).toMatch(/chmod=1\ntruncate=1\nredirect=[1-9]/);
    expect(r.out).toMatch(/\nl\n$/);
    expect(fx.changes()).toEqual([]);
    expect(fs.statSync(fx.sentinel).mode & 0o777).toBe(0o600);
    expect(fs.readlinkSync(join(fx.bind, 'b'))).toBe(fx.sentinel);
  }, 120_000);

  it('still works as a bind mount: create, write, rename, chmod of live files', async () => {
    const r = await sh('cd /mnt/h && mkdir -p d && echo hi > d/f && mv d/f d/g && chmod 640 d/g && cat d/g && stat -c %a d/g');
    expect(r).toMatchObject({ code: 0, out: 'hi\n640\n' });
    expect(fs.statSync(join(fx.bind, 'd', 'g')).mode & 0o777).toBe(0o640);
    expect(fx.changes()).toEqual([]);
  }, 120_000);
});
