/**
 * The shipped snapshot's stores (src/runtime/vm/snapshot-http.ts) against a real HTTP server: a
 * site's state is found under its key, a missing key or a dead server is a miss (the Machine then
 * boots cold), a local copy wins, and the shipped copy is kept locally later unless the key was
 * deleted (a state that failed to restore) or replaced meanwhile.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSnapshots, layeredSnapshots, shippedSnapshotFile } from '../../src/runtime/vm/snapshot-http.ts';
import { memorySnapshots } from '../../src/runtime/vm/snapshot-store.ts';

let server: Server;
let base: string;
const served = new Map<string, Uint8Array>();
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  base = `http://127.0.0.1:${a.port}/vm-images/snapshots/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const bytes = (...xs: number[]) => new Uint8Array(xs);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('httpSnapshots', () => {
  it('reads <key>.state under its base and treats 404 and a dead server as misses', async () => {
    served.set('/vm-images/snapshots/vm-abc.state', bytes(1, 2, 3));
    const s = httpSnapshots(base);
    expect(new Uint8Array((await s.get('vm-abc'))!)).toEqual(bytes(1, 2, 3));
    expect(await s.get('vm-other')).toBeNull();
    expect(await httpSnapshots('http://127.0.0.1:1/').get('vm-abc')).toBeNull();
  });

  it('refuses keys that are not plain names', async () => {
    expect(() => shippedSnapshotFile('../secret')).toThrow(/bad snapshot key/);
    await expect(httpSnapshots(base).get('a/b')).rejects.toThrow(/bad snapshot key/);
  });
});

describe('layeredSnapshots', () => {
  it('prefers the local state, falls back to the shipped one and keeps a copy of it later', async () => {
    served.set('/vm-images/snapshots/vm-k1.state', bytes(9, 9));
    const local = memorySnapshots();
    const from: string[] = [];
    const s = layeredSnapshots(local, httpSnapshots(base), { keepAfterMs: 20, onGet: (_k, f) => from.push(f) });
    const got = await s.get('vm-k1');
    expect(new Uint8Array(got!)).toEqual(bytes(9, 9));
    // The caller may transfer what it got; the kept copy must not be that buffer.
    structuredClone(got, { transfer: [got!] });
    expect(await local.get('vm-k1')).toBeNull();
    await wait(60);
    expect(new Uint8Array((await local.get('vm-k1'))!)).toEqual(bytes(9, 9));
    hits.length = 0;
    expect(new Uint8Array((await s.get('vm-k1'))!)).toEqual(bytes(9, 9));
    expect(hits).toEqual([]);
    expect(await s.get('vm-missing')).toBeNull();
    expect(from).toEqual(['shipped', 'local', 'none']);
  });

  it('does not copy a shipped state in after its key was deleted or written', async () => {
    served.set('/vm-images/snapshots/vm-k2.state', bytes(1));
    served.set('/vm-images/snapshots/vm-k3.state', bytes(2));
    const local = memorySnapshots();
    const s = layeredSnapshots(local, httpSnapshots(base), { keepAfterMs: 20 });
    await s.get('vm-k2');
    await s.delete('vm-k2'); // the restore failed
    await s.get('vm-k3');
    await s.put('vm-k3', bytes(7).buffer); // the Machine's own cold-boot state
    await wait(60);
    expect(await local.get('vm-k2')).toBeNull();
    expect(new Uint8Array((await local.get('vm-k3'))!)).toEqual(bytes(7));
  });

  it('never keeps a copy with keepAfterMs null', async () => {
    served.set('/vm-images/snapshots/vm-k4.state', bytes(4));
    const local = memorySnapshots();
    await layeredSnapshots(local, httpSnapshots(base), { keepAfterMs: null }).get('vm-k4');
    await wait(30);
    expect(await local.get('vm-k4')).toBeNull();
  });
});
