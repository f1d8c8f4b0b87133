/** The ContentStore contract, run against every backend. */
import { describe, expect, it } from 'vitest';
import { expectSkiffRejection, skiffRejectionOf } from '../helpers/errors.ts';
import { createHasher, sha256Digest, type Digest } from '../../src/oci/digest.ts';
import { putBlob, putStream, readRange, type ContentStore } from '../../src/content/store.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);


export function contentStoreConformance(name: string, make: () => Promise<ContentStore>): void {
  describe(`ContentStore conformance: ${name}`, () => {
    it('put, has, info, get, list, delete', async () => {
      const s = await make();
      const bytes = enc('hello world');
      const d = sha256Digest(bytes);
      expect(await s.has(d)).toBe(false);
      const info = await putBlob(s, bytes);
      expect(info).toEqual({ digest: d, size: bytes.length });
      expect(await s.has(d)).toBe(true);
      expect(await s.info(d)).toEqual(info);
      expect(Array.from(await s.get(d))).toEqual(Array.from(bytes));
      expect(await s.list()).toEqual([info]);
      const streamed: number[] = [];
      for await (const c of s.stream(d, { chunkSize: 4 })) streamed.push(...c);
      expect(streamed).toEqual(Array.from(bytes));
      expect(await s.delete(d)).toBe(true);
      expect(await s.delete(d)).toBe(false);
      expect(await s.has(d)).toBe(false);
      expect(await s.list()).toEqual([]);
    });

    it('missing blobs are NOT_FOUND naming the digest', async () => {
      const s = await make();
      const d = sha256Digest('absent');
      await expectSkiffRejection(s.get(d), 'NOT_FOUND', new RegExp(d));
      await expectSkiffRejection(s.info(d), 'NOT_FOUND', new RegExp(d));
      await expectSkiffRejection((async () => { for await (const _ of s.stream(d)) { /* drain */ } })(), 'NOT_FOUND', new RegExp(d));
    });

    it('an ingestion is invisible until commit, streamed chunks hash correctly', async () => {
      const s = await make();
      const data = new Uint8Array(300_000).map((_, i) => (i * 13 + 7) & 0xff);
      const d = sha256Digest(data);
      const ing = s.ingest();
      const buf = new Uint8Array(65_536);
      for (let off = 0; off < data.length; off += buf.length) {
        const part = data.subarray(off, off + buf.length);
        buf.set(part); // the same buffer is reused for every write
        await ing.write(buf.subarray(0, part.length));
        expect(await s.has(d)).toBe(false);
      }
      expect(ing.size).toBe(data.length);
      expect(await s.list()).toEqual([]);
      expect(await ing.commit({ expectedDigest: d, expectedSize: data.length })).toEqual({ digest: d, size: data.length });
      const got = await s.get(d);
      expect(got.length).toBe(data.length);
      expect(sha256Digest(got)).toBe(d);
      const h = createHasher();
      const kept: Uint8Array[] = [];
      for await (const c of s.stream(d, { chunkSize: 70_000 })) { h.update(c); kept.push(c); }
      expect(h.digest()).toBe(d);
      // chunks stay valid after iteration (not a reused buffer)
      expect(sha256Digest(Buffer.concat(kept))).toBe(d);
      await expectSkiffRejection(ing.write(enc('x')), 'INVALID_ARGUMENT', /committed/);
    });

    it('digest mismatch: DIGEST_MISMATCH naming both digests, nothing stored', async () => {
      const s = await make();
      const bytes = enc('actual content');
      const wrong = sha256Digest('other content');
      const err = await skiffRejectionOf(putBlob(s, bytes, { expectedDigest: wrong }), 'DIGEST_MISMATCH');
      expect(err.message).toContain(wrong);
      expect(err.message).toContain(sha256Digest(bytes));
      expect(await s.has(sha256Digest(bytes))).toBe(false);
      expect(await s.has(wrong)).toBe(false);
      expect(await s.list()).toEqual([]);
    });

    it('size mismatch: DIGEST_MISMATCH naming both sizes', async () => {
      const s = await make();
      const bytes = enc('twelve bytes');
      await expectSkiffRejection(putBlob(s, bytes, { expectedDigest: sha256Digest(bytes), expectedSize: 13 }), 'DIGEST_MISMATCH', /expected 13 bytes, got 12/);
      expect(await s.list()).toEqual([]);
    });

    it('abort discards; commit of existing content is idempotent', async () => {
      const s = await make();
      const ing = s.ingest();
      await ing.write(enc('discard me'));
      await ing.abort();
      expect(await s.list()).toEqual([]);
      await expectSkiffRejection(ing.commit(), 'INVALID_ARGUMENT', /aborted/);
      const a = await putBlob(s, enc('same'));
      const b = await putStream(s, [enc('sa'), enc('me')]);
      expect(b).toEqual(a);
      expect(await s.list()).toEqual([a]);
    });

    it('empty blob and several blobs', async () => {
      const s = await make();
      const e = await putBlob(s, new Uint8Array(0));
      expect(e).toEqual({ digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0 });
      expect((await s.get(e.digest)).length).toBe(0);
      const many = await Promise.all(Array.from({ length: 10 }, (_, i) => putBlob(s, enc(`blob ${i}`))));
      const listed = (await s.list()).map((x) => x.digest).sort();
      expect(listed).toEqual([e, ...many].map((x) => x.digest).sort());
      // concurrent ingestions of the same bytes
      const same = await Promise.all([1, 2, 3].map(() => putBlob(s, enc('dup'))));
      expect(new Set(same.map((x) => x.digest as Digest)).size).toBe(1);
      expect(new TextDecoder().decode(await s.get(same[0]!.digest))).toBe('dup');
    });

    it('range reads: any piece of a blob, across 1 MiB parts, short at the end; none after delete', async () => {
      const s = await make();
      const bytes = new Uint8Array(2.5 * (1 << 20) + 7).map((_, i) => (i * 7919 + (i >> 13)) % 251);
      const { digest } = await putBlob(s, bytes);
      for (const [off, len] of [[0, 10], [(1 << 20) - 5, 10], [1_000_000, 1_200_000], [bytes.length - 3, 100], [0, bytes.length]] as const) {
        const got = await readRange(s, digest, off, len);
        expect(Buffer.compare(got, bytes.subarray(off, off + len)), `${off}+${len}`).toBe(0);
        if (s.readRangeSync) expect(Buffer.compare(s.readRangeSync(digest, off, len), bytes.subarray(off, off + len))).toBe(0);
      }
      expect((await readRange(s, digest, bytes.length + 10, 5)).length).toBe(0);
      expect(Buffer.compare(await s.get(digest), bytes)).toBe(0);
      expect(await s.delete(digest)).toBe(true);
      await expectSkiffRejection(readRange(s, digest, 0, 1), 'NOT_FOUND', new RegExp(digest));
    });

    it('an ingestion told its digest up front: stores the blob, refuses other bytes, keeps an existing blob intact', async () => {
      const s = await make();
      const bytes = new Uint8Array(2.5 * (1 << 20)).map((_, i) => (i * 31 + (i >> 11)) % 251);
      const digest = sha256Digest(bytes);
      const write = async (b: Uint8Array) => {
        const ing = s.ingest({ expectedDigest: digest });
        for (let at = 0; at < b.length; at += 300_001) await ing.write(b.subarray(at, at + 300_001));
        return ing.commit({ expectedDigest: digest });
      };
      const wrong = bytes.slice();
      wrong[2_000_000] ^= 1;
      await expectSkiffRejection(write(wrong), 'DIGEST_MISMATCH', new RegExp(digest));
      expect(await s.has(digest)).toBe(false);
      expect(await write(bytes)).toEqual({ digest, size: bytes.length });
      expect(Buffer.compare(await readRange(s, digest, 1_000_000, 1_500_000), bytes.subarray(1_000_000, 2_500_000))).toBe(0);
      // Wrong bytes for a blob already stored: refused, and the stored blob is untouched.
      await expectSkiffRejection(write(wrong), 'DIGEST_MISMATCH', new RegExp(digest));
      expect(Buffer.compare(await s.get(digest), bytes)).toBe(0);
      const small = enc('small blob');
      const ing = s.ingest({ expectedDigest: sha256Digest(small) });
      await ing.write(small);
      await ing.commit();
      expect(new TextDecoder().decode(await s.get(sha256Digest(small)))).toBe('small blob');
    });
  });
}
