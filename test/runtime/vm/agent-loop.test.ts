/**
 * The agent's one loop against a start that fails while it is busy: crun's exit (reported by the
 * zygote) and the failed process's stdio then come back in the same poll round. The agent frees
 * the process for the exit, so its stdio entries of that round must not be served (they were:
 * agent 0.5.1 read a freed process's fds, sent end-of-stream frames on garbage channels, and now
 * and then read(2) fd 0, the console, which never returns: the CI wedge of conformance.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeMachineOptions } from '../../../src/node.ts';
import { Machine } from '../../../src/runtime/vm/machine.ts';
import { nodeSnapshots } from '../../../src/runtime/vm/snapshot-node.ts';
import { busyboxConfig, prepareBusyboxRootfs } from './bundle.ts';

let m: Machine;
const lines: string[] = [];
const home = mkdtempSync(join(tmpdir(), 'skiff-vm-loop-'));

beforeAll(async () => {
  m = await Machine.start({ ...nodeMachineOptions({ thread: 'worker' }), snapshots: nodeSnapshots(home), trace: (l) => lines.push(l) });
  await prepareBusyboxRootfs(m.agent, '/run/bb/rootfs');
}, 240_000);

afterAll(async () => {
  await m?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

describe('the agent loop', () => {
  it('a start that fails while the agent is busy: no frame for a freed process, and the agent keeps answering', async () => {
    for (let i = 0; i < 4; i++) {
      const id = `bad${i}`;
      const bundle = `/run/bundles/${id}`;
      await (await m.agent.spawn({ args: ['sh', '-c', `mkdir -p ${bundle} && ln -s /run/bb/rootfs ${bundle}/rootfs`] })).wait();
      // The failing start, then work that keeps the loop from polling while crun fails (zero_free
      // faults in and gives back all free memory): its exit and its stderr arrive together.
      const run = m.agent.run({ id, bundle, config: busyboxConfig({ args: ['/no/such/program'] }) }).catch((e: unknown) => e);
      await m.agent.request('zero_free', {}, 120_000);
      expect(String(await run)).toMatch(/executable file `\/no\/such\/program` not found/);
      // A loop stuck in a read of the console answers nothing more.
      await expect(m.agent.request('ping', {}, 20_000)).resolves.toMatchObject({ ok: true });
      await m.agent.delete({ id, force: true }).catch(() => {});
    }
    // Every process frame is for a channel the host opened.
    const opened = new Set(lines.flatMap((l) => [...l.matchAll(/"channel":(\d+)/g)].map((x) => Number(x[1]))));
    const stray = lines.filter((l) => /^<- (Stdout|Stderr|Exit) ch=(\d+)/.test(l) && !opened.has(Number(/ch=(\d+)/.exec(l)![1])));
    expect(stray).toEqual([]);
  }, 300_000);
});
