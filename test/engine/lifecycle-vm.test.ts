/**
 * The engine lifecycle on the real guest VM (VmRuntime: our kernel, agent, crun) with the bundled
 * skiff/busybox image: output, exit codes, stdin, volumes across runs, stop, exec, writes in the layer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { bundledFromDir, defaultBundledDir } from '../../src/engine/bundled.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { nodeRuntimes } from '../../src/node.ts';
import { parseRunFlags, type RunFlags } from '../../src/runtime/spec/options.ts';

const td = new TextDecoder();
let e: Engine;

async function run(flags: RunFlags, stdin?: string): Promise<{ id: string; code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const r = await e.runContainer({
    image: 'skiff/busybox', run: parseRunFlags(flags), ...(stdin !== undefined ? { stdin } : {}),
    io: { onStdout: (d) => out.push(td.decode(d)), onStderr: (d) => err.push(td.decode(d)) },
  });
  return { id: r.id, code: r.exit.exitCode, out: out.join(''), err: err.join('') };
}

beforeAll(async () => {
  e = new Engine({ content: new MemoryContentStore(), state: new MemoryStateStore(), bundled: bundledFromDir(defaultBundledDir()), runtimes: { vm: nodeRuntimes.vm! } });
  await run({ cmd: ['true'], rm: true }); // boots the guest
}, 240_000);

afterAll(async () => { await e?.shutdown(); });

describe('Engine lifecycle on the VM', () => {
  it('runs a command: stdout, stderr, exit code, hostname, writes kept in the layer', async () => {
    const r = await run({ cmd: ['sh', '-c', 'echo out; echo err >&2; hostname; echo x > /made; exit 7'], hostname: 'boxy' });
    expect(r).toMatchObject({ code: 7, out: 'out\nboxy\n', err: 'err\n' });
    expect(await e.containerChanges({ id: r.id })).toEqual(expect.arrayContaining([{ kind: 'A', path: '/made' }]));
    expect((await e.inspectContainer({ id: r.id })).state).toBe('exited');
    expect((await e.containerLogs({ id: r.id })).map((l) => td.decode(l.data)).join('')).toContain('out\n');
  });

  it('pipes stdin and keeps a named volume across runs; --rm removes the container', async () => {
    const a = await run({ cmd: ['sh', '-c', 'cat > /data/note'], interactive: true, volume: ['notes:/data'], rm: true }, 'kept\n');
    expect(a.code).toBe(0);
    await expect(e.inspectContainer({ id: a.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const b = await run({ cmd: ['cat', '/data/note'], volume: ['notes:/data'], rm: true });
    expect(b).toMatchObject({ code: 0, out: 'kept\n' });
  });

  it('exec into a running container, then stop it (SIGTERM)', async () => {
    const c = await e.createContainer({ image: 'skiff/busybox', cmd: ['sleep', '300'] });
    await e.startContainer({ id: c.id });
    const out: string[] = [];
    const p = await e.execContainer({ id: c.id, cmd: ['echo', 'inside'], io: { onStdout: (d) => out.push(td.decode(d)), onStderr: () => {} } });
    expect((await p.wait()).exitCode).toBe(0);
    expect(out.join('')).toBe('inside\n');
    const st = await e.stopContainer({ id: c.id, timeout: 5 });
    expect(st?.exitCode).toBeGreaterThanOrEqual(128);
    expect((await e.inspectContainer({ id: c.id })).state).toBe('exited');
  });
});
