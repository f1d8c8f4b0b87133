/** A FROM image that is not in the store is pulled (real docker-registry on loopback); --pull pulls anyway. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryContentStore } from '../../src/content/memory.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryStateStore } from '../../src/engine/state/memory.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { startRegistry, type Running } from '../registry/servers.ts';

let reg: Running;
beforeAll(async () => { reg = await startRegistry(); }, 60_000);
afterAll(async () => { await reg?.stop(); });

const engine = (registry = true): Engine => new Engine({
  content: new MemoryContentStore(), state: new MemoryStateStore(),
  ...(registry ? { registry: new RegistryClient({ retry: { baseMs: 1, maxMs: 5 } }) } : {}),
});

describe('build FROM a registry image', () => {
  it('pulls a missing base, and with pull: true a changed one', async () => {
    const ref = `${reg.host}/base:1`;
    const pusher = engine();
    await pusher.build({ tags: [ref], context: { Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'one' } });
    await pusher.pushImage({ ref });
    const e = engine();
    const r = await e.build({ tags: ['child:1'], context: { Dockerfile: `FROM ${ref}\nCOPY b /b\n`, b: 'B' } });
    const img = await e.resolveImage({ ref: 'child:1' });
    expect(img.layers.length).toBe(2);
    // The base changes in the registry: the local copy is used until --pull.
    await pusher.build({ tags: [ref], context: { Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'two' } });
    await pusher.pushImage({ ref });
    expect((await e.build({ context: { Dockerfile: `FROM ${ref}\nCOPY b /b\n`, b: 'B' } })).id).toBe(r.id);
    const pulled = await e.build({ pull: true, context: { Dockerfile: `FROM ${ref}\nCOPY b /b\n`, b: 'B' } });
    expect(pulled.id).not.toBe(r.id);
    expect(pulled.steps.map((s) => s.cached)).toEqual([false]);
    await expect(engine(false).build({ context: { Dockerfile: `FROM ${ref}\n` } })).rejects.toThrow(/Dockerfile:1: FROM .*No such image/);
  });
});
