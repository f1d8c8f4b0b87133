import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeFsContentStore } from '../../src/content/node-fs.ts';
import { putBlob } from '../../src/content/store.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { contentStoreConformance } from './conformance.ts';

const base = mkdtempSync(join(tmpdir(), 'skiff-content-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
contentStoreConformance('node-fs', async () => new NodeFsContentStore({ root: join(base, `s${n++}`) }));

describe('node-fs layout and processes', () => {
  it('uses <root>/blobs/sha256/<hex> and leaves ingest/ empty', async () => {
    const root = join(base, 'layout');
    const s = new NodeFsContentStore({ root });
    const info = await putBlob(s, new TextEncoder().encode('layout'));
    expect(readFileSync(join(root, 'blobs/sha256', info.digest.slice(7)), 'utf8')).toBe('layout');
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
    await putBlob(s, new TextEncoder().encode('bad'), { expectedSize: 1 }).catch(() => {});
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
  });

  it('pruneIngest removes stale in-flight files only', async () => {
    const root = join(base, 'prune');
    const s = new NodeFsContentStore({ root });
    const ing = s.ingest();
    await ing.write(new TextEncoder().encode('in flight'));
    expect(readdirSync(join(root, 'ingest')).length).toBe(1);
    expect(await s.pruneIngest()).toBe(0);
    expect(await s.pruneIngest({ olderThanMs: -1000 })).toBe(1);
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
  });

  it("a killed writer's in-flight file is swept when the store is next opened, a live one's is kept", async () => {
    const root = join(base, 'sweep');
    const live = new NodeFsContentStore({ root });
    const ing = live.ingest();
    await ing.write(new TextEncoder().encode('live'));
    // What `skiff load` killed mid-blob leaves: a partial file named by a process that is gone.
    writeFileSync(join(root, 'ingest', '999999999-12345-abc-0123456789abcdef'), new Uint8Array(1 << 20));
    const reopened = new NodeFsContentStore({ root });
    await reopened.list();
    expect(readdirSync(join(root, 'ingest')).length).toBe(1);
    await ing.commit();
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
  });

  it('two processes writing the same blob at once both succeed, one correct file remains', async () => {
    const root = join(base, 'race');
    const data = new Uint8Array(8 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const d = sha256Digest(data);
    const src = join(base, 'race-src.bin');
    writeFileSync(src, data);
    const script = `
      import { readFileSync, writeFileSync, existsSync } from 'node:fs';
      import { NodeFsContentStore } from ${JSON.stringify(join(process.cwd(), 'src/content/node-fs.ts'))};
      const s = new NodeFsContentStore({ root: process.argv[2] });
      const bytes = readFileSync(process.argv[3]);
      // Barrier: both writers have half their temp file written before either commits.
      const ing = s.ingest();
      const half = bytes.length / 2;
      for (let i = 0; i < half; i += 65536) await ing.write(bytes.subarray(i, Math.min(i + 65536, half)));
      writeFileSync(process.argv[3] + '.' + process.argv[5], '');
      const other = process.argv[3] + '.' + (process.argv[5] === 'a' ? 'b' : 'a');
      const t0 = Date.now();
      while (!existsSync(other)) {
        if (Date.now() - t0 > 20000) throw new Error('other writer never arrived');
        await new Promise((r) => setTimeout(r, 10));
      }
      for (let i = half; i < bytes.length; i += 65536) await ing.write(bytes.subarray(i, i + 65536));
      const info = await ing.commit({ expectedDigest: process.argv[4] });
      process.stdout.write(JSON.stringify(info));
    `;
    const scriptPath = join(base, 'race-writer.mts');
    writeFileSync(scriptPath, script);
    const run = (tag: string): Promise<{ code: number | null; out: string; err: string }> => new Promise((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', scriptPath, root, src, d, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (c) => { out += c; });
      p.stderr.on('data', (c) => { err += c; });
      p.on('close', (code) => resolve({ code, out, err }));
    });
    const results = await Promise.all([run('a'), run('b')]);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ digest: d, size: data.length });
    }
    expect(readdirSync(join(root, 'blobs/sha256'))).toEqual([d.slice(7)]);
    expect(readdirSync(join(root, 'ingest'))).toEqual([]);
    const s = new NodeFsContentStore({ root });
    expect(sha256Digest(await s.get(d))).toBe(d);
  });
});
