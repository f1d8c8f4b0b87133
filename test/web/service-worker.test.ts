/**
 * The offline service worker (src/web/sw.ts) on the built site in chromium answers only from
 * skiff's own cache: another app on the same origin that plants a response in a cache of its own
 * must not have it served to skiff's pages (issue 10, Low 10), online or offline. And the page
 * still works offline, a query string on it included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, type Browser, type BrowserContext, type Page, type Site } from './harness.ts';

let site: Site;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
  ctx = await browser.newContext();
  page = await ctx.newPage();
  await page.goto(site.url);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload(); // now controlled by the service worker
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await removeBuild();
});

/** What a fetch from the page gets: status and body, or the network error. */
const get = (path: string) => page.evaluate(async (p) => {
  try {
    const res = await fetch(p);
    return { status: res.status, body: (await res.text()).slice(0, 100) };
  } catch (err) {
    return { error: String(err) };
  }
}, path);

describe('the service worker on a shared origin', () => {
  it('does not serve what another app planted in its own cache', { timeout: 60_000 }, async () => {
    const planted = await page.evaluate(async () => {
      const evil = await caches.open('another-app');
      // A file skiff does not have, and a query variant of one it has.
      await evil.put(new URL('planted.js', location.href).href, new Response('planted by another app', { headers: { 'content-type': 'text/javascript' } }));
      await evil.put(new URL('vm-images/dist/manifest.json?v=2', location.href).href, new Response('planted manifest'));
      return (await caches.keys()).sort();
    });
    expect(planted).toContain('another-app');
    expect(planted.some((k) => k.startsWith('skiff-precache-'))).toBe(true);

    expect(await get('planted.js')).toEqual({ status: 404, body: expect.not.stringContaining('planted') });
    expect(await get('vm-images/dist/manifest.json?v=2')).toMatchObject({ status: 200, body: expect.stringContaining('"v86"') });

    await ctx.setOffline(true);
    try {
      expect(await get('planted.js')).toMatchObject({ error: expect.stringMatching(/Failed to fetch|TypeError/) });
      // Ours still comes from the cache, exactly as precached.
      expect(await get('vm-images/dist/manifest.json')).toMatchObject({ status: 200, body: expect.stringContaining('"v86"') });
      expect(await get('vm-images/dist/manifest.json?v=2')).toMatchObject({ error: expect.any(String) });
    } finally {
      await ctx.setOffline(false);
    }
  });

  it('offline, the page loads from skiff\'s cache, with a query string too', { timeout: 120_000 }, async () => {
    await ctx.setOffline(true);
    try {
      await page.goto(`${site.url}?from=bookmark`);
      await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 60_000 });
      await page.goto(`${site.url}docs/example.html?x=1`);
      expect(await page.title()).toMatch(/skiff-run/);
    } finally {
      await ctx.setOffline(false);
    }
  });
});
