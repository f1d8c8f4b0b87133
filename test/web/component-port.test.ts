/**
 * `<skiff-run port="80">` in chromium, on the built site and under `npm start` (vite dev): the
 * docs page's busybox httpd example, run by its button, shows the container's page in the
 * element's frame (served at /_skiff/ports/<port>/ by the service worker the element registers,
 * from this page's engine), prints the link, and Stop ends the container and drops the frame.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { ROOT, watchConsole, type Page } from './harness.ts';
import { useBuiltSite } from './suite.ts';

const web = useBuiltSite();

type Shown = { link: string; href: string; frameSrc: string; body: string };

/** Clicks #web's Run and waits for its frame to show the container's page. */
async function runAndPreview(page: Page): Promise<Shown> {
  await page.waitForFunction(() => customElements.get('skiff-run') !== undefined, null, { timeout: 60_000 });
  await page.locator('#web button').click();
  await page.waitForFunction(() => {
    const frame = document.querySelector('#web')?.shadowRoot?.querySelector('iframe');
    return /Hello from busybox httpd/.test(frame?.contentDocument?.body?.textContent ?? '');
  }, null, { timeout: 240_000, polling: 250 });
  return page.evaluate(() => {
    const root = document.querySelector('#web')!.shadowRoot!;
    const frame = root.querySelector('iframe')!;
    return {
      link: root.querySelector('.preview .link')!.textContent ?? '',
      href: root.querySelector<HTMLAnchorElement>('.preview a')!.href,
      frameSrc: frame.src,
      body: frame.contentDocument!.body.innerHTML,
    };
  });
}

/** Stop: the container ends (skiff-exit), the frame goes, the Run button is back. */
async function stop(page: Page): Promise<{ exited: boolean; frame: boolean; button: string; output: string }> {
  return page.evaluate(() => new Promise((resolve) => {
    const el = document.querySelector('#web') as HTMLElement & { output: string };
    const button = el.shadowRoot!.querySelector('button')!;
    const done = (exited: boolean) => resolve({ exited, frame: el.shadowRoot!.querySelector('iframe') !== null, button: button.textContent ?? '', output: el.output });
    el.addEventListener('skiff-exit', () => setTimeout(() => done(true)), { once: true });
    el.addEventListener('skiff-error', () => setTimeout(() => done(false)), { once: true });
    button.click();
  }));
}

function checkShown(s: Shown, base: string): void {
  expect(s.frameSrc).toMatch(new RegExp(`^${base.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}_skiff/ports/\\d+/$`));
  expect(s.href).toBe(s.frameSrc);
  expect(s.link).toBe(`80/tcp is published at ${s.frameSrc}`);
  expect(s.body).toContain('<h1>Hello from busybox httpd</h1>');
  expect(s.body).toMatch(/served at \d\d:\d\d:\d\d by container [0-9a-f]{12}/);
}

describe('<skiff-run port> on the built site', () => {
  it('shows the docs example\'s busybox httpd page in the frame, and Stop ends it', async () => {
    const ctx = await web.browser.newContext();
    try {
      const page = await ctx.newPage();
      const errors = watchConsole(page);
      await page.goto(`${web.site.url}docs/example.html`);
      const shown = await runAndPreview(page);
      checkShown(shown, web.site.url);
      // The same path answers a plain fetch from the page (the service worker, not the frame's cache).
      const again = await page.evaluate(async (u) => (await fetch(u)).text(), shown.frameSrc);
      expect(again).toContain('Hello from busybox httpd');
      const s = await stop(page);
      expect(s).toMatchObject({ exited: true, frame: false, button: 'Run' });
      expect(s.output).toContain('serving /www on port 80');
      expect(errors.filter((e) => !/favicon/.test(e))).toEqual([]);
      // Gone with the container: the route says so at once.
      const after = await page.evaluate(async (u) => (await fetch(u)).status, shown.frameSrc);
      expect(after).toBe(404);
      // A hard reload loads the page past the worker (uncontrolled): the element asks it to claim the page.
      const cdp = await ctx.newCDPSession(page);
      await Promise.all([page.waitForEvent('load'), cdp.send('Page.reload', { ignoreCache: true })]);
      expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull();
      const again2 = await runAndPreview(page);
      checkShown(again2, web.site.url);
      expect(await stop(page)).toMatchObject({ exited: true, frame: false });
    } finally {
      await ctx.close();
    }
  }, 420_000);

  it('a bad port attribute is a skiff-error naming it', async () => {
    const ctx = await web.browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(`${web.site.url}docs/example.html`);
      const r = await page.evaluate(() => new Promise<unknown>((resolve) => {
        const el = document.createElement('skiff-run');
        el.setAttribute('image', 'skiff/busybox');
        el.setAttribute('port', '80000');
        el.setAttribute('cmd', 'true');
        el.addEventListener('skiff-error', (e) => resolve((e as CustomEvent).detail));
        el.addEventListener('skiff-exit', (e) => resolve({ unexpectedExit: (e as CustomEvent).detail }));
        document.body.append(el);
        void (el as unknown as { run(): Promise<unknown> }).run();
      }));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('port="80000"') });
    } finally {
      await ctx.close();
    }
  }, 120_000);
});

describe('<skiff-run port> under npm start (vite dev)', () => {
  let server: ViteDevServer;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'skiff-vite-cache-'));
    server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), cacheDir, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
    await server.listen();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('registers the ports-only service worker and shows the page in the frame', async () => {
    const url = server.resolvedUrls!.local[0]!;
    const sw = await fetch(`${url}sw.js?ports-only`);
    expect(sw.headers.get('content-type')).toBe('text/javascript');
    expect(await sw.text()).toContain('ports-only');
    const ctx = await web.browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(`${url}docs/example.html`);
      checkShown(await runAndPreview(page), url);
      const script = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
      expect(script).toBe(`${url}sw.js?ports-only`);
      expect(await stop(page)).toMatchObject({ exited: true, frame: false });
    } finally {
      await ctx.close();
    }
  }, 420_000);
});
