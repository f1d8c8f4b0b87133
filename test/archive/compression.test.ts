/** gzip/zstd codecs against the system gzip and zstd, and decompression bombs. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expectSkiffError, expectSkiffRejection } from '../helpers/errors.ts';
import {
  decompress, decompressStream, detectCompression, gunzip, gunzipStream, gzip, zstdCompress, zstdDecompressStream,
} from '../../src/archive/compression.ts';
import { readTarStream } from '../../src/archive/tar-reader.ts';
import { tarEntry, writeTar } from '../../src/archive/tar-writer.ts';
import { pseudoRandom } from './fixtures.ts';
import { requireTool } from '../helpers/peers.ts';

const sysGzip = (b: Uint8Array): Uint8Array => new Uint8Array(execFileSync('gzip', ['-c', '-6'], { input: b, maxBuffer: 1 << 30 }));
const sysZstd = (b: Uint8Array): Uint8Array => new Uint8Array(execFileSync(requireTool('zstd', 'zstd'), ['-c', '-q', '-3'], { input: b, maxBuffer: 1 << 30 }));
const collect = async (it: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
};
function* chunks(b: Uint8Array, w: number): Generator<Uint8Array> {
  for (let i = 0; i < b.length; i += w) yield b.subarray(i, i + w);
}
const expectInvalid = (p: Promise<unknown>, re: RegExp): Promise<void> => expectSkiffRejection(p, 'INVALID_ARCHIVE', re);

// Compressible but not trivial: text-ish with random runs.
const payload = (() => {
  const r = pseudoRandom(2_000_000, 5);
  for (let i = 0; i < r.length; i++) r[i] = 97 + (r[i]! % 8);
  return r;
})();

describe('detect', () => {
  it('sniffs magic numbers', async () => {
    expect(detectCompression(sysGzip(payload.subarray(0, 100)))).toBe('gzip');
    expect(detectCompression(sysZstd(payload.subarray(0, 100)))).toBe('zstd');
    expect(detectCompression(writeTar([tarEntry({ name: 'a' }, 'b')]))).toBe('none');
    expect(detectCompression(new Uint8Array([0x1f]))).toBe('none');
  });
});

for (const portable of [false, true]) {
  describe(`gzip (${portable ? 'DecompressionStream' : 'node zlib'})`, () => {
    it('gunzips system gzip output, whole and streamed in odd chunks', async () => {
      const gz = sysGzip(payload);
      expect(Buffer.from(await gunzip(gz, { portable })).equals(Buffer.from(payload))).toBe(true);
      expect((await collect(gunzipStream(chunks(gz, 777), { portable }))).equals(Buffer.from(payload))).toBe(true);
    });
    it('our gzip is readable by system gzip', async () => {
      const ours = await gzip(payload, { portable });
      expect(detectCompression(ours)).toBe('gzip');
      const back = execFileSync('gzip', ['-dc'], { input: ours, maxBuffer: 1 << 30 });
      expect(back.equals(Buffer.from(payload))).toBe(true);
    });
    it('one pump for both: a failing source fails the stream with its own error; a consumer stopping early stops the source', async () => {
      const gz = sysGzip(payload);
      const boom = new Error('disk gone');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield gz.subarray(0, 5000);
        throw boom;
      }
      await expect(collect(gunzipStream(failing(), { portable }))).rejects.toBe(boom);
      let pulled = 0;
      let closed = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          for (const c of chunks(gz, 4096)) { pulled++; yield c; }
        } finally {
          closed = true;
        }
      }
      for await (const out of gunzipStream(source(), { portable })) { expect(out.length).toBeGreaterThan(0); break; }
      await new Promise((r) => setTimeout(r, 50));
      expect(closed).toBe(true);
      expect(pulled).toBeLessThan(Math.ceil(gz.length / 4096));
    });
    it('multi-member gzip (concatenated) decodes fully', async () => {
      const a = sysGzip(payload.subarray(0, 1000));
      const b = sysGzip(payload.subarray(1000, 5000));
      const both = Buffer.concat([a, b]);
      expect(Buffer.from(await gunzip(both, { portable })).equals(Buffer.from(payload.subarray(0, 5000)))).toBe(true);
    });
    it('corrupt and truncated input fail clearly', async () => {
      const gz = sysGzip(payload);
      const bad = gz.slice();
      for (let i = 100; i < 200; i++) bad[i] = bad[i]! ^ 0x5a;
      await expectInvalid(gunzip(bad, { portable, what: 'layer sha256:ab12' }), /layer sha256:ab12: corrupt or truncated gzip data/);
      await expectInvalid(gunzip(gz.subarray(0, gz.length >> 1), { portable }), /corrupt or truncated gzip/);
    });
    it('a gzip bomb stops at maxOutputBytes', async () => {
      const zeros = new Uint8Array(64 << 20);
      const bomb = sysGzip(zeros); // ~64 KiB expanding 1000x
      expect(bomb.length).toBeLessThan(200_000);
      await expectInvalid(gunzip(bomb, { portable, maxOutputBytes: 8 << 20, what: 'bomb.gz' }), /bomb\.gz: decompressed size exceeds the limit of 8388608 bytes \(possible decompression bomb\)/);
      // and streaming: fails without having produced more than the limit (plus one chunk)
      let seen = 0;
      await expectInvalid((async () => { for await (const c of gunzipStream([bomb], { portable, maxOutputBytes: 8 << 20 })) seen += c.length; })(), /decompression bomb/);
      expect(seen).toBeLessThanOrEqual(8 << 20);
    });
  });
}

describe('zstd', () => {
  it('decodes system zstd output, streamed in odd chunks', async () => {
    const z = sysZstd(payload);
    expect((await collect(zstdDecompressStream(chunks(z, 1000)))).equals(Buffer.from(payload))).toBe(true);
    expect(Buffer.from(await decompress(z)).equals(Buffer.from(payload))).toBe(true);
  });
  it('bomb, corruption, empty input, and compression is UNSUPPORTED', async () => {
    const bomb = sysZstd(new Uint8Array(64 << 20));
    await expectInvalid(decompress(bomb, { maxOutputBytes: 1 << 20 }), /decompression bomb/);
    const bad = sysZstd(payload).slice();
    for (let i = 20; i < 60; i++) bad[i] = bad[i]! ^ 0xff;
    await expectInvalid(decompress(bad, { compression: 'zstd' }), /corrupt or truncated zstd/);
    await expectInvalid(collect(zstdDecompressStream([])), /empty zstd stream/);
    expectSkiffError(() => zstdCompress(), 'UNSUPPORTED');
  });
});

describe('decompressStream + tar', () => {
  it('auto-detects and feeds the tar parser, one byte at a time for the head', async () => {
    // bodies larger than the decoders' output chunks, so entries straddle chunk boundaries
    const big = pseudoRandom(1_000_003, 9);
    const mid = pseudoRandom(300_000, 11);
    const tar = writeTar([tarEntry({ name: 'a.txt' }, 'alpha'), tarEntry({ name: 'b.bin' }, big), tarEntry({ name: 'c.bin' }, mid)]);
    for (const packed of [tar, sysGzip(tar), sysZstd(tar)]) {
      const src = (function* () { yield packed.subarray(0, 1); yield packed.subarray(1, 2); yield packed.subarray(2, 3); yield* chunks(packed.subarray(3), 4096); })();
      const got: Array<[string, Buffer]> = [];
      for await (const e of readTarStream(decompressStream(src))) got.push([e.header.name, Buffer.from(e.data)]);
      expect(got.map(([n]) => n)).toEqual(['a.txt', 'b.bin', 'c.bin']);
      expect(got[0]![1].toString()).toBe('alpha');
      expect(got[1]![1].equals(Buffer.from(big))).toBe(true);
      expect(got[2]![1].equals(Buffer.from(mid))).toBe(true);
    }
  });
  it('plain input is still bounded by maxOutputBytes', async () => {
    await expectInvalid(collect(decompressStream([new Uint8Array(2000)], { maxOutputBytes: 1000 })), /exceeds the limit of 1000 bytes/);
  });
});
