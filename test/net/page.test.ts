/**
 * Networking in the page (built site, chromium): a container's published port shows in an iframe
 * at /_skiff/ports/<port>/ (the service worker asks the page's engine, no listener anywhere), and
 * a container reaches a server this test starts on the host's loopback through the Wisp relay the
 * site serves at /_skiff/wisp (host-gateway), refused at once without host-gateway.
 */
import { createServer, type Server } from 'node:http';
import { createServer as tcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, watchConsole, type BrowserContext, type Page } from '../web/harness.ts';
import { useBuiltSite } from '../web/suite.ts';

const web = useBuiltSite();
let ctx: BrowserContext;
let page: Page;
let host: Server;
let hostPort = 0;
/** Answers only after its client's EOF (how `sort` or an upload sink behave). */
let sizer: TcpServer;
let sizerPort = 0;

beforeAll(async () => {
  host = createServer((req, res) => res.end(`host loopback says hi ${req.url}`));
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
  hostPort = (host.address() as { port: number }).port;
  sizer = tcpServer((s) => {
    let n = 0;
    s.on('data', (d) => { n += d.length; });
    s.on('end', () => s.end(`got ${n} bytes after EOF\n`));
  });
  await new Promise<void>((r) => sizer.listen(0, '127.0.0.1', () => r()));
  sizerPort = (sizer.address() as { port: number }).port;
  ctx = await web.browser.newContext();
  page = await ctx.newPage();
  watchConsole(page);
  await page.goto(web.site.url);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload(); // now controlled by the service worker
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 120_000 });
}, 300_000);

afterAll(async () => {
  await ctx?.close();
  host?.close();
  sizer?.close();
});

describe('networking in the page', () => {
  it("an iframe shows a container's published port through the service worker", async () => {
    const r = await sh(page, 'run -d --name web -p 8080:80 skiff/busybox sh -c "mkdir -p /www && echo hello-from-the-page-container > /www/index.html && exec httpd -f -p 80 -h /www"');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`80/tcp is published at ${new URL('_skiff/ports/8080/', web.site.url).href}`);
    const ports = await sh(page, 'port web');
    expect(ports.out).toContain('80/tcp -> 127.0.0.1:8080');
    let body = '';
    for (let i = 0; i < 40 && !body.includes('hello-from-the-page-container'); i++) {
      body = await page.evaluate(async () => {
        const frame = document.createElement('iframe');
        frame.src = '/_skiff/ports/8080/';
        document.body.append(frame);
        await new Promise((res) => frame.addEventListener('load', res, { once: true }));
        const text = frame.contentDocument?.body?.textContent ?? '';
        frame.remove();
        return text;
      });
      if (!body.includes('hello')) await new Promise((res) => setTimeout(res, 500));
    }
    expect(body).toContain('hello-from-the-page-container');
    // A port nobody publishes: a clear 404 from the route, not a hang.
    const missing = await page.evaluate(async () => { const res = await fetch('/_skiff/ports/9999/'); return { status: res.status, text: await res.text() }; });
    expect(missing).toMatchObject({ status: 404, text: expect.stringMatching(/no container publishes port 9999/) });

    // The page gave the service worker a channel to its engine worker: requests no longer reach
    // the page, and answer as before. A stopped worker lost it: the next request takes the page
    // hop (same answer) and the page offers a new channel.
    await page.evaluate(() => {
      const w = window as unknown as { hops: number };
      w.hops = 0;
      navigator.serviceWorker.addEventListener('message', (ev) => { if ((ev.data as { t?: string })?.t === 'skiff-port-request') w.hops++; });
    });
    const fetchMany = (n: number) => page.evaluate(async (n) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch('/_skiff/ports/8080/index.html', { cache: 'no-store' });
        out.push(`${res.status} ${res.headers.get('content-type')} ${res.headers.get('cross-origin-embedder-policy')} ${(await res.text()).trim()}`);
      }
      return { out, hops: (window as unknown as { hops: number }).hops };
    }, n);
    const want = '200 text/html require-corp hello-from-the-page-container';
    expect(await fetchMany(4)).toEqual({ out: Array(4).fill(want), hops: 0 });
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    const first = await fetchMany(1);
    expect(first).toEqual({ out: [want], hops: 1 });
    await new Promise((res) => setTimeout(res, 500)); // the page's new channel reaches the worker
    expect(await fetchMany(4)).toEqual({ out: Array(4).fill(want), hops: 1 });
    await cdp.detach();
    await sh(page, 'rm -f web');
  }, 240_000);

  it('a container reaches the host loopback through the Wisp relay with host-gateway, refused without', async () => {
    const ok = await sh(page, `run --rm --add-host h:host-gateway skiff/busybox wget -qO- http://h:${hostPort}/relay`);
    expect(ok.out).toContain('host loopback says hi /relay');
    const t0 = Date.now();
    const refused = await sh(page, `run --rm skiff/busybox sh -c "wget -qO- http://10.0.2.2:${hostPort}/ 2>&1; echo exit=$?"`);
    expect(refused.out).toMatch(/refused[\s\S]*exit=1/i);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 240_000);

  it("a container's half-close reaches a host server through the relay as EOF, and its answer comes back", async () => {
    // busybox nc shuts its sending side at stdin's end and keeps reading (Wisp itself has no
    // half-close: the site's relay and the page's client agree on skiff's SHUTDOWN extension).
    const r = await sh(page, `run --rm --add-host h:host-gateway skiff/busybox sh -c "echo hello | timeout 30 nc h ${sizerPort}; echo exit=$?"`);
    expect(r.out).toMatch(/got 6 bytes after EOF[\s\S]*exit=0/);
  }, 240_000);

  it('with a second skiff page open (its engine lacks the port) and then closed, the port still answers from the first', async () => {
    const r = await sh(page, 'run -d --name web2 -p 8081:80 skiff/busybox sh -c "mkdir -p /www && echo from-the-first-page > /www/index.html && exec httpd -f -p 80 -h /www"');
    expect(r.status, r.out).toBe(0);
    const get = (p: Page) => p.evaluate(async () => {
      const res = await fetch('/_skiff/ports/8081/index.html', { cache: 'no-store' });
      return `${res.status} ${(await res.text()).trim()}`;
    });
    let got = '';
    for (let i = 0; i < 40 && got !== '200 from-the-first-page'; i++) {
      got = await get(page);
      if (got !== '200 from-the-first-page') await new Promise((res) => setTimeout(res, 500));
    }
    expect(got).toBe('200 from-the-first-page');
    const second = await ctx.newPage();
    watchConsole(second);
    await second.goto(web.site.url);
    await second.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 120_000 });
    await second.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
    // Whichever page the worker asks first (over its channel or the page hop), the answer is the
    // first page's engine's, from either page.
    for (let i = 0; i < 3; i++) {
      expect(await get(second)).toBe('200 from-the-first-page');
      expect(await get(page)).toBe('200 from-the-first-page');
      await new Promise((res) => setTimeout(res, 300)); // both channels offered by now
    }
    await second.close();
    expect(await get(page)).toBe('200 from-the-first-page');
    await sh(page, 'rm -f web2');
  }, 300_000);
});
