/**
 * `attach` through the control channel: two engines over one home stand for two skiff processes;
 * the other attaches to the owner's container: output from then on, stdin, resize and signals
 * reach it, detaching leaves it running; both record their events in the shared journal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import { NodeControlPlane } from '../../src/engine/control/node.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryEventJournal } from '../../src/engine/events/memory.ts';
import { NodeFsStateStore } from '../../src/engine/state/node-fs.ts';
import type { ContainerRuntime, ExitStatus, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const dir = mkdtempSync(join(tmpdir(), 'skiff-control-attach-'));
const engines: Engine[] = [];
afterAll(async () => {
  for (const e of engines) await e.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Its main process echoes stdin to stdout (as `cat`), keeps resizes, ends on a signal. */
class EchoRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  readonly resized: Array<{ cols: number; rows: number }> = [];
  io?: StartContainerRequest['io'];
  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    this.io = req.io;
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    return {
      writeStdin: (c) => void req.io.onStdout(c), closeStdin() {},
      kill: async (sig) => end({ exitCode: sig === 'SIGTERM' ? 143 : 137, oomKilled: false }),
      resize: async (s) => void this.resized.push(s), wait: () => done,
    };
  }
  async exec(): Promise<RuntimeProcess> { throw new Error('no exec'); }
  async release(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const until = async (pred: () => boolean) => { for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10)); return pred(); };

describe('attach through the control channel', () => {
  it('carries stdin, resize and signals; detaching leaves the container running', async () => {
    const journal = new MemoryEventJournal();
    const rt = new EchoRuntime();
    const over = (runtime: ContainerRuntime) => {
      const e = new Engine({
        content: new NodeFsContentStore({ root: join(dir, 'content') }), state: new NodeFsStateStore({ root: join(dir, 'state') }),
        runtimes: { vm: () => runtime }, control: new NodeControlPlane({ home: dir }), events: journal,
      });
      engines.push(e);
      return e;
    };
    const owner = over(rt);
    await owner.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['cat'] }), tags: ['docker.io/library/app:1'] }]) });
    const other = over(new EchoRuntime());
    const c = await owner.createContainer({ image: 'app:1', openStdin: true });
    await owner.startContainer({ id: c.id });

    const seen: string[] = [];
    const a = await other.attachContainer({ id: c.id, io: { onStdout: (d) => void seen.push(td.decode(d)), onStderr: () => {} } });
    a.writeStdin(te.encode('over the channel\n'));
    expect(await until(() => seen.join('') === 'over the channel\n')).toBe(true);
    await a.resize({ cols: 100, rows: 40 });
    expect(await until(() => rt.resized.length === 1)).toBe(true);
    expect(rt.resized).toEqual([{ cols: 100, rows: 40 }]);
    a.detach();
    await new Promise((r) => setTimeout(r, 100));
    rt.io!.onStdout(te.encode('after detach\n'));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.join('')).toBe('over the channel\n');
    expect(owner.isContainerLive({ id: c.id })).toBe(true);

    const b = await other.attachContainer({ id: c.id, io: { onStdout: () => {}, onStderr: () => {} } });
    await b.kill('SIGTERM');
    expect(await b.wait()).toMatchObject({ exitCode: 143 });
    const { events } = await journal.read();
    expect(events.filter((e) => e.Actor.ID === c.id).map((e) => e.Action)).toEqual(['create', 'start', 'attach', 'attach', 'kill', 'die']);
    expect(events.find((e) => e.Action === 'kill')!.Actor.Attributes['signal']).toBe('15');
  });

  it('refuses a stopped container in Docker\'s words', async () => {
    const e = engines[0]!;
    const [rec] = await e.listContainers({ all: true });
    await expect(e.attachContainer({ id: rec!.id, io: { onStdout: () => {}, onStderr: () => {} } })).rejects.toThrow('You cannot attach to a stopped container, start it first');
  });
});
