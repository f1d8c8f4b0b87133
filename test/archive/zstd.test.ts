/**
 * zstd frames we check before fzstd sees them: window limits, block-cost limits, skippable and
 * multiple frames, chunking at every width. Hostile frames are built here byte by byte.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expectSkiffRejection } from '../helpers/errors.ts';
import { decompress } from '../../src/archive/compression.ts';
import { zstdDecompressStream } from '../../src/archive/zstd.ts';
import { pseudoRandom } from './fixtures.ts';

const sysZstd = (b: Uint8Array, ...args: string[]): Uint8Array => new Uint8Array(execFileSync('zstd', ['-c', '-q', ...args], { input: b, maxBuffer: 1 << 30 }));
const expectInvalid = (p: Promise<unknown>, re: RegExp): Promise<void> => expectSkiffRejection(p, 'INVALID_ARCHIVE', re);
const cat = (...parts: ArrayLike<number>[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
async function drain(it: AsyncIterable<Uint8Array>): Promise<{ bytes: number; maxChunk: number; data: Uint8Array[] }> {
  let bytes = 0;
  let maxChunk = 0;
  const data: Uint8Array[] = [];
  for await (const c of it) { bytes += c.length; maxChunk = Math.max(maxChunk, c.length); data.push(c); }
  return { bytes, maxChunk, data };
}
function* chunks(b: Uint8Array, w: number): Generator<Uint8Array> {
  for (let i = 0; i < b.length; i += w) yield b.subarray(i, i + w);
}

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** A frame header with a window descriptor (not single-segment, no checksum, no content size). */
const header = (exp: number, mantissa = 0): number[] => [...MAGIC, 0x00, (exp << 3) | mantissa];
/** Block header: last flag, type (0 raw, 1 RLE, 2 compressed), size. */
const block = (last: boolean, type: number, size: number): number[] => {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff];
};
const endBlock = block(true, 0, 0);

describe('zstd frame checks', () => {
  it('a 9-byte frame declaring a 1.9 GiB window is refused before anything is allocated', async () => {
    const bomb = new Uint8Array([...header(20, 7), ...endBlock]);
    const before = process.memoryUsage().arrayBuffers;
    await expectInvalid(decompress(bomb, { compression: 'zstd', what: 'layer x' }), /layer x: zstd frame at byte 0 needs a 1920 MiB window, over the limit of 8 MiB \(possible decompression bomb; raise maxZstdWindowBytes/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('a single-segment frame declaring a huge content size is refused the same way', async () => {
    // descriptor: single segment, 8-byte content size = 2^40
    const bomb = new Uint8Array([...MAGIC, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, ...endBlock]);
    await expectInvalid(decompress(bomb, { compression: 'zstd' }), /needs a 1048576 MiB window, over the limit of 8 MiB/);
  });

  it('the window limit is configurable', async () => {
    const frame = new Uint8Array([...header(14), ...block(true, 0, 3), 1, 2, 3]); // 16 MiB window
    await expectInvalid(decompress(frame, { compression: 'zstd' }), /16 MiB window, over the limit of 8 MiB/);
    expect([...await decompress(frame, { compression: 'zstd', maxWindowBytes: 16 << 20 })]).toEqual([1, 2, 3]);
  });

  it('many tiny blocks under a big window are refused quickly (fzstd copies the window per block)', async () => {
    const tiny = Array.from({ length: 20_000 }, () => [...block(false, 0, 1), 0x41]).flat();
    const data = new Uint8Array([...header(13), ...tiny, ...endBlock]); // 8 MiB window, 20,000 one-byte blocks
    const t0 = performance.now();
    await expectInvalid(decompress(data, { compression: 'zstd', what: 'tiny.zst' }), /tiny\.zst: zstd blocks too small for their 8 MiB window/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('full-size RLE blocks expand 32768x, yet come out in bounded pieces and stop at the output limit', async () => {
    const rle = Array.from({ length: 1024 }, () => [...block(false, 1, 128 << 10), 0x5a]).flat();
    const data = new Uint8Array([...header(13), ...rle, ...endBlock]); // 4 KiB -> 128 MiB
    const got = await drain(zstdDecompressStream([data], { maxOutputBytes: 2 ** 40 }));
    expect(got.bytes).toBe(128 << 20);
    expect(got.maxChunk).toBeLessThanOrEqual(128 << 10);
    await expectInvalid(drain(zstdDecompressStream([data], { maxOutputBytes: 16 << 20, what: 'rle' })), /rle: decompressed size exceeds the limit of 16777216 bytes/);
  });

  it('skippable frames are skipped; several frames concatenate; any chunk width', async () => {
    const a = pseudoRandom(300_000, 1);
    const b = pseudoRandom(200_000, 2);
    const skip = (n: number): number[] => [0x5e, 0x2a, 0x4d, 0x18, n & 0xff, n >> 8, 0, 0, ...new Array(n).fill(7)];
    const stream = cat(skip(10), sysZstd(a), skip(0), sysZstd(b, '--check'), skip(600));
    for (const w of [1, 7, 4096, stream.length]) {
      const got = Buffer.concat((await drain(zstdDecompressStream(chunks(stream, w)))).data);
      expect(got.equals(Buffer.concat([a, b]))).toBe(true);
    }
  });

  it('system zstd at levels 1 to 19 fits the default window; --long=27 is refused unless allowed', async () => {
    const payload = pseudoRandom(1_000_000, 3).map((x) => 97 + (x % 4));
    for (const args of [['-1'], ['-3', '--check'], ['-19']]) {
      expect(Buffer.from(await decompress(sysZstd(payload, ...args))).equals(Buffer.from(payload))).toBe(true);
    }
    const long = sysZstd(payload, '-1', '--long=27');
    await expectInvalid(decompress(long), /128 MiB window, over the limit of 8 MiB/);
    expect(Buffer.from(await decompress(long, { maxWindowBytes: 128 << 20 })).equals(Buffer.from(payload))).toBe(true);
  });

  it('truncated and malformed structure', async () => {
    const good = sysZstd(pseudoRandom(10_000, 4));
    await expectInvalid(decompress(good.subarray(0, good.length - 5), { compression: 'zstd' }), /corrupt or truncated zstd data/);
    await expectInvalid(decompress(new Uint8Array([...header(13), ...block(true, 3, 1), 0]), { compression: 'zstd' }), /reserved block type/);
    await expectInvalid(decompress(new Uint8Array([...MAGIC, 0x08, 0x68, ...endBlock]), { compression: 'zstd' }), /reserved bit set/);
    await expectInvalid(decompress(cat(good, [1, 2, 3, 4, 5]), { compression: 'zstd' }), /bad frame magic/);
    await expectInvalid(decompress(new Uint8Array([...header(13), ...block(true, 0, 200_000)]), { compression: 'zstd' }), /block of 200000 bytes over the 131072-byte maximum/);
  });
});
