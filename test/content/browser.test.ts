/**
 * The browser path for real: our content store on Chromium's IndexedDB, the portable gzip
 * (CompressionStream/DecompressionStream) and pure-JS sha256, tar round trip, all bundled with
 * esbuild and run in headless Chromium via playwright-core.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium } from '../helpers/browser.ts';

const ENTRY = `
import { IdbContentStore } from './src/content/idb.ts';
import { putBlob } from './src/content/store.ts';
import { createHasher, sha256Digest } from './src/oci/digest.ts';
import { gzip, gunzip, decompressStream } from './src/archive/compression.ts';
import { readTarStream } from './src/archive/tar-reader.ts';
import { writeTar, tarEntry } from './src/archive/tar-writer.ts';

globalThis.skiffBrowserCheck = async () => {
  const r = {};
  const enc = (s) => new TextEncoder().encode(s);
  r.isNodeHash = typeof globalThis.process !== 'undefined';
  r.emptyDigest = sha256Digest(new Uint8Array(0));
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  r.bigDigest = createHasher().update(big.subarray(0, 1000)).update(big.subarray(1000)).digest();

  const store = new IdbContentStore({ dbName: 'skiff-browser-test' });
  const info = await putBlob(store, big);
  r.info = info;
  r.has = await store.has(info.digest);
  r.roundTrip = sha256Digest(await store.get(info.digest)) === info.digest;
  try { await putBlob(store, enc('x'), { expectedDigest: info.digest }); r.mismatch = 'no error'; }
  catch (e) { r.mismatch = e.code; }
  r.listed = (await store.list()).length;
  r.deleted = await store.delete(info.digest);

  const tar = writeTar([tarEntry({ name: 'dir/', type: 'directory' }), tarEntry({ name: 'dir/ünï.txt', mtime: 1.5 }, 'hi'), tarEntry({ name: 'big' }, big)]);
  const gz = await gzip(tar);
  r.gzMagic = [gz[0], gz[1]];
  r.gunzipOk = sha256Digest(await gunzip(gz)) === sha256Digest(tar);
  const names = [];
  async function* chunks() { for (let i = 0; i < gz.length; i += 5000) yield gz.slice(i, i + 5000); }
  for await (const e of readTarStream(decompressStream(chunks()))) names.push(e.header.name + ':' + e.data.length + ':' + e.header.mtime);
  r.names = names;
  try { await gunzip(await gzip(new Uint8Array(4 << 20)), { maxOutputBytes: 1 << 20 }); r.bomb = 'no error'; }
  catch (e) { r.bomb = e.code; }
  return r;
};
`;

let browser: Browser;
let bundle: string;
beforeAll(async () => {
  bundle = await bundleForBrowser({ source: ENTRY });
  browser = await launchChromium();
});
afterAll(async () => { await browser?.close(); });

describe('browser (Chromium)', () => {
  it('bundle has no node: imports', () => {
    expect(bundle).not.toMatch(/from\s*["']node:/);
  });

  it('IndexedDB content store, portable gzip and sha256, tar', async () => {
    const page = await browser.newPage();
    // A real http origin: IndexedDB is unavailable on about:blank.
    await page.route('http://skiff.test/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>skiff</title>' }));
    await page.goto('http://skiff.test/');
    await page.addScriptTag({ content: bundle, type: 'module' });
    await page.waitForFunction(() => 'skiffBrowserCheck' in globalThis);
    const r = await page.evaluate(() => (globalThis as unknown as { skiffBrowserCheck(): Promise<Record<string, unknown>> }).skiffBrowserCheck());
    expect(r['isNodeHash']).toBe(false);
    expect(r['emptyDigest']).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(r['bigDigest']).toBe((r['info'] as { digest: string }).digest);
    expect(r['info']).toEqual({ digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), size: 1 << 20 });
    expect(r).toMatchObject({ has: true, roundTrip: true, mismatch: 'DIGEST_MISMATCH', listed: 1, deleted: true, gunzipOk: true, bomb: 'INVALID_ARCHIVE' });
    expect(r['gzMagic']).toEqual([0x1f, 0x8b]);
    expect(r['names']).toEqual(['dir/:0:0', 'dir/ünï.txt:2:1.5', `big:${1 << 20}:0`]);
    await page.close();
  });
});
