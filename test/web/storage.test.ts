/**
 * Storage limits in chromium, for real: the origin's quota is cut with the DevTools protocol
 * (Storage.overrideQuotaForOrigin) so IndexedDB throws QuotaExceededError. Seeding and loading
 * must then fail with one clear message, keep what was stored, and recover once there is room.
 */
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { makeArchives, type Archives } from './fixtures.ts';
import { sh, type Page, type PageHandle } from './harness.ts';
import { useBuiltSite } from './suite.ts';

let archives: Archives;

const web = useBuiltSite({
  setup: async () => {
    archives = await makeArchives();
  },
  cleanup: async () => {
    if (archives) await rm(archives.dir, { recursive: true, force: true });
  },
});

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 90_000 });
  await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
}


function repos(out: string): string[] {
  return out.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter((r) => r.startsWith('skiff/')).sort();
}

it('a full quota is a clear error; what was stored stays; more room lets seeding finish', async () => {
  const ctx = await web.browser.newContext();
  try {
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    const origin = new URL(web.site.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 3_000_000 });
    await page.goto(web.site.url);
    await ready(page);
    const text = await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    expect(text).toMatch(/Error: loading the bundled images: the browser's storage quota for this site is full: this was not stored; remove images \(rmi\)/);
    expect(text).toContain('QuotaExceededError');
    const partial = repos((await sh(page, 'images')).out);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(5);

    // A load that does not fit fails the same way and loses nothing.
    const r = await page.evaluate(async (b64) => {
      const bin = atob(b64);
      const data = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
      const api = (globalThis as unknown as { skiffPage: { client: { load(f: Blob, o: { name: string }): Promise<unknown> } } }).skiffPage.client;
      try { await api.load(new Blob([data]), { name: 'big.tar' }); return 'loaded'; } catch (e) { return { code: (e as { code: string }).code, message: (e as Error).message }; }
    }, archives.valid.toString('base64'));
    expect(r).toMatchObject({ code: 'STORAGE', message: expect.stringContaining('storage quota for this site is full') });
    expect(repos((await sh(page, 'images')).out)).toEqual(partial);

    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 500_000_000 });
    await page.reload();
    await ready(page);
    expect(repos((await sh(page, 'images')).out)).toEqual(['skiff/busybox', 'skiff/hello-wasm', 'skiff/lua-wasm', 'skiff/sqlite-wasm', 'skiff/tools']);
  } finally {
    await ctx.close();
  }
});
