/**
 * `commit --pause` in the engine, with a runtime that records its freezer: a running container is
 * frozen while its layer is read and thawed after, also when the commit fails; `pause: false` and a
 * runtime without a freezer (as the WASI one) commit it running, as Docker ignores a failed pause.
 */
import { describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import type { ContainerRuntime, ExitStatus, RuntimeProcess, StartContainerRequest } from '../../src/runtime/types.ts';
import { buildImage, ociArchive } from './fixtures/images.ts';

const te = new TextEncoder();
const DEEP = 'd'.repeat(250);

/** Writes /out (or, with argv "deep", a path past PATH_MAX that no image layer may hold); runs until killed. */
class FreezerRuntime implements ContainerRuntime {
  readonly name = 'vm' as const;
  /** Each freeze call: true freeze, false thaw. */
  readonly calls: boolean[] = [];
  constructor(private readonly hasFreezer: boolean) {
    if (!hasFreezer) delete (this as Partial<FreezerRuntime>).freeze;
  }
  async start(req: StartContainerRequest): Promise<RuntimeProcess> {
    const root = req.rootfs;
    const f = root.create(root.root(), 'out', { mode: 0o644, uid: 0, gid: 0 });
    root.write(f, 0, te.encode('written'));
    if (req.spec.args[0] === 'deep') {
      let n = root.root();
      for (let i = 0; i < 20; i++) n = root.mkdir(n, DEEP, { mode: 0o755, uid: 0, gid: 0 });
    }
    let end!: (s: ExitStatus) => void;
    const done = new Promise<ExitStatus>((r) => (end = r));
    return { writeStdin() {}, closeStdin() {}, kill: async () => end({ exitCode: 137, signal: 'SIGKILL', oomKilled: false }), resize: async () => {}, wait: () => done };
  }
  async exec(): Promise<RuntimeProcess> { throw new Error('no exec'); }
  async freeze(_id: string, frozen: boolean): Promise<void> {
    this.calls.push(frozen);
  }
  async release(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

async function running(rt: FreezerRuntime, cmd: string[]) {
  const e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), runtimes: { vm: () => rt } });
  await e.loadArchive({ data: ociArchive([{ image: buildImage({ layers: [{ files: [{ name: 'bin/', type: 'directory' }] }], cmd: ['serve'] }), tags: ['docker.io/library/app:1'] }]) });
  const c = await e.createContainer({ image: 'app:1', run: { cmd } });
  await e.startContainer({ id: c.id, io: { onStdout() {}, onStderr() {} } });
  return { e, id: c.id };
}

describe('commit --pause', () => {
  it('freezes a running container while the layer is read, thaws it after; the record says running again', async () => {
    const rt = new FreezerRuntime(true);
    const { e, id } = await running(rt, ['serve']);
    await e.commitContainer({ id, ref: 'app:committed' });
    expect(rt.calls).toEqual([true, false]);
    expect((await e.inspectContainer({ id })).state).toBe('running');
    const actions: string[] = [];
    await (await e.watchEvents({ since: 0, until: Date.now(), filters: { container: [id] }, onEvent: (ev) => actions.push(ev.Action) })).done();
    // The image is made (its commit event) between the freeze and the thaw.
    expect(actions.filter((a) => ['pause', 'commit', 'unpause'].includes(a))).toEqual(['pause', 'commit', 'unpause']);
  });

  it('thaws it when the commit fails', async () => {
    const rt = new FreezerRuntime(true);
    const { e, id } = await running(rt, ['deep']);
    await expect(e.commitContainer({ id, ref: 'app:deep' })).rejects.toThrow(/longer than 4096 bytes/);
    expect(rt.calls).toEqual([true, false]);
    expect((await e.inspectContainer({ id })).state).toBe('running');
  });

  it('pause: false, and a runtime without a freezer, commit it running', async () => {
    const rt = new FreezerRuntime(true);
    const { e, id } = await running(rt, ['serve']);
    await e.commitContainer({ id, ref: 'app:unpaused', pause: false });
    expect(rt.calls).toEqual([]);
    const bare = new FreezerRuntime(false);
    const b = await running(bare, ['serve']);
    await b.e.commitContainer({ id: b.id, ref: 'app:nofreezer' });
    expect((await b.e.inspectContainer({ id: b.id })).state).toBe('running');
    const cfg = await b.e.imageConfig({ ref: 'app:nofreezer' });
    expect(cfg.history?.at(-1)?.empty_layer).toBeUndefined();
  });
});
