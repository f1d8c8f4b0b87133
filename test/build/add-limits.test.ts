/**
 * ADD's bounds on what it holds in memory: a download past the limit is refused (by its
 * Content-Length, or as it streams) instead of read whole, and an archive that unpacks past the
 * limit is refused as a bomb instead of being copied as a file that "holds no tar".
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { archiveItems, urlSource } from '../../src/build/copy.ts';
import { gzip } from '../../src/archive/index.ts';
import { requireTool } from '../helpers/peers.ts';

/** A response whose body is `chunks` pieces of 64 KiB, counting what was pulled from it. */
function response(chunks: number, headers: Record<string, string> = {}): { resp: Response; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= chunks) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(64 * 1024));
    },
  });
  return { resp: new Response(body, { headers }), pulled: () => pulled };
}

describe('ADD limits', () => {
  it('refuses a download whose Content-Length is past the limit without reading it', async () => {
    const r = response(1, { 'content-length': String(8 * 1024 ** 3) });
    await expect(urlSource('http://example.test/big.bin', undefined, (async () => r.resp) as typeof fetch)).rejects.toThrow(/larger than the limit of \d+ bytes/);
    expect(r.pulled()).toBeLessThanOrEqual(1);
  });

  it('stops reading a download that streams past the limit', async () => {
    const r = response(1000); // 64 MB, no Content-Length
    await expect(urlSource('http://example.test/endless', undefined, (async () => r.resp) as typeof fetch, false, 1 << 20)).rejects.toThrow('larger than the limit of 1048576 bytes');
    expect(r.pulled()).toBeLessThan(40);
    const small = response(2);
    const ok = await urlSource('http://example.test/small', undefined, (async () => small.resp) as typeof fetch, false, 1 << 20);
    expect(ok.items[0]!.item.data!.byteLength).toBe(128 * 1024);
  });

  it('refuses an archive that unpacks past the limit (gzip, bzip2, xz) as a bomb', async () => {
    const tar = new Uint8Array(4 << 20); // zeros: an empty tar's end blocks, 4 MiB of them
    const gz = await gzip(tar);
    const py = requireTool('python3', 'python3');
    const bz = new Uint8Array(execFileSync(py, ['-c', 'import sys, bz2; sys.stdout.buffer.write(bz2.compress(sys.stdin.buffer.read()))'], { input: tar }));
    const xz = new Uint8Array(execFileSync(py, ['-c', 'import sys, lzma; sys.stdout.buffer.write(lzma.compress(sys.stdin.buffer.read()))'], { input: tar }));
    for (const [name, data] of [['a.tar.gz', gz], ['a.tar.bz2', bz], ['a.tar.xz', xz]] as const) {
      await expect(archiveItems(name, data, 1 << 20)).rejects.toThrow(`ADD ${name}: the archive unpacks to more than the limit of 1048576 bytes`);
      // Within the limit the same archive unpacks (an empty tar: no entries).
      await expect(archiveItems(name, data, 8 << 20)).resolves.toEqual([]);
    }
  });
});
