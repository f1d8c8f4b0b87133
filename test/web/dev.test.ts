/**
 * `npm start`: the vite dev server (same config) serves the terminal page from source, modules
 * unbundled, and the main job works there exactly as on the built site: a Linux container typed
 * into the terminal, a wasm one, `-it`, a volume shared by two containers, the docs page's
 * components. The guest artifacts and bundled images come back as the bytes on disk (vite must
 * not take the extensionless bzImage for a module, nor answer a missing file with index.html).
 * Catches dev-only breakage (optimizeDeps, worker URLs, v86.wasm, raw assets).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { launch, ROOT, sh, watchConsole, type Browser, type Page, type PageHandle } from './harness.ts';
import { requireTool } from '../helpers/peers.ts';

let server: ViteDevServer;
let browser: Browser;
let cacheDir: string;
let home: string;
let url: string;
const savedHome = process.env['SKIFF_HOME'];

beforeAll(async () => {
  requireTool('chromium', 'chromium');
  // A fresh machine's: no Node snapshot cache. The dev server makes the snapshot the build would
  // ship (one Node boot of the guest) when a page first asks for it, and serves it from then on.
  home = await mkdtemp(join(tmpdir(), 'skiff-dev-home-'));
  process.env['SKIFF_HOME'] = home;
  cacheDir = await mkdtemp(join(tmpdir(), 'skiff-vite-cache-'));
  server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), cacheDir, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
  await server.listen();
  url = server.resolvedUrls!.local[0]!;
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(cacheDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env['SKIFF_HOME'];
  else process.env['SKIFF_HOME'] = savedHome;
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const pageText = (page: Page): Promise<string> => page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
const waitForText = (page: Page, re: RegExp, timeout = 60_000) =>
  page.waitForFunction((src) => new RegExp(src).test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), re.source, { timeout });

it('serves the guest artifacts and bundled images as their bytes on disk, and 404 for the rest', async () => {
  for (const dir of ['vm-images/dist', 'vm-images/images/dist']) {
    for (const name of await readdir(join(ROOT, dir))) {
      const res = await fetch(`${url}${dir}/${name}`);
      if (name.endsWith('.txt')) { // not part of the built site either
        expect(res.status, name).toBe(404);
        continue;
      }
      expect(res.status, `${dir}/${name}`).toBe(200);
      expect(res.headers.get('content-type'), name).not.toMatch(/html|javascript/);
      expect(sha(new Uint8Array(await res.arrayBuffer())), name).toBe(sha(await readFile(join(ROOT, dir, name))));
    }
  }
  const wasm = await fetch(`${url}vm-images/v86.wasm`);
  expect(wasm.headers.get('content-type')).toBe('application/wasm');
  // A snapshot key nobody has, and a file the site does not have: 404 (the VM boots cold; vite's
  // fallback would have answered index.html, which a restore then chokes on).
  for (const path of ['vm-images/snapshots/vm-0000.state', 'vm-images/dist/no-such-file', 'vm-images/dist/..%2Fmanifest.mjs', 'vm-images/snapshots/..%2F..%2Fetc%2Fpasswd']) {
    const res = await fetch(`${url}${path}`, { headers: { accept: '*/*' } });
    expect(res.status, path).toBe(404);
  }
  // A snapshot Node's cache has is served as is (the built site ships the same file).
  const state = new Uint8Array([1, 2, 3, 250]);
  await mkdir(join(home, 'vm/snapshots'), { recursive: true });
  await writeFile(join(home, 'vm/snapshots/vm-devtest.state'), state);
  const res = await fetch(`${url}vm-images/snapshots/vm-devtest.state`);
  expect(res.status).toBe(200);
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(state);
  await rm(join(home, 'vm'), { recursive: true });
});

describe('the terminal page from the dev server', () => {
  let page: Page;
  let errors: string[];
  /** "<status> <path>" of every vm-images request, the engine worker's included. */
  const assets: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage();
    page.context().on('response', (r) => { if (r.url().includes('/vm-images/')) assets.push(`${r.status()} ${r.url().slice(url.length)}`); });
    errors = watchConsole(page);
    await page.goto(url);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 180_000 });
    expect(await page.textContent('#status')).toMatch(/^ready/);
    await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
  }, 200_000);

  it('a Linux container typed into the terminal', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    await page.click('#terminal');
    await page.keyboard.type('run --rm skiff/busybox echo hi');
    await page.keyboard.press('Enter');
    await waitForText(page, /run --rm skiff\/busybox echo hi\s*\nhi\n[^]*skiff\$ $/, 200_000);
    expect(await pageText(page)).not.toContain('fetching guest artifact');
    console.log(`dev server: first busybox run (snapshot made by the dev server) ${Date.now() - t0} ms`);
    // The guest restored the snapshot the dev server made on this fresh machine (no failed request:
    // a 404 there used to land in the page's console and make the page boot cold).
    expect(assets).toEqual(expect.arrayContaining(['200 vm-images/v86.wasm']));
    expect(assets.some((a) => /^200 vm-images\/snapshots\/vm-[0-9a-f]+\.state$/.test(a)), assets.join('\n')).toBe(true);
    expect(assets.filter((a) => !a.startsWith('200 '))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a wasm container', { timeout: 60_000 }, async () => {
    const r = await sh(page, 'run --rm skiff/lua-wasm -e "print(20+22)"');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/\n42\n/);
  });

  it('-p: the link `run -d -p` prints serves the container\'s page through the service worker', { timeout: 120_000 }, async () => {
    const r = await sh(page, 'run -d --name devweb -p 8081:80 skiff/busybox httpd -f -p 80 -h /etc');
    expect(r.status).toBe(0);
    const link = /is published at (\S+)/.exec(r.out)?.[1];
    expect(link).toBe(`${url}_skiff/ports/8081/`);
    const before = errors.length;
    try {
      // Through the page's service worker, as a tab opening the link is; httpd may take a moment to listen.
      let body = '';
      for (let i = 0; i < 40 && !body; i++) {
        body = await page.evaluate(async (u) => {
          const res = await fetch(u).catch(() => null);
          return res?.status === 200 && navigator.serviceWorker.controller ? res.text() : '';
        }, `${link}hostname`);
        if (!body) await new Promise((done) => setTimeout(done, 250));
      }
      expect(body).toMatch(/^[0-9a-f]{12}\n$/);
      // Polls before httpd listened got the worker's 502 ("port 8081: ..."), which Chromium logs
      // as a failed resource; those are expected here, anything else is not.
      const polled = errors.splice(before);
      expect(polled.filter((e) => !/status of 502/.test(e))).toEqual([]);
    } finally {
      await sh(page, 'rm -f devweb');
    }
  });

  it('-it: an interactive shell in the terminal', { timeout: 120_000 }, async () => {
    await page.click('#terminal');
    await page.keyboard.type('run -it --rm skiff/busybox sh');
    await page.keyboard.press('Enter');
    await waitForText(page, /\/ # $/);
    await page.keyboard.type('echo $((6*7)) $(tty)');
    await page.keyboard.press('Enter');
    await waitForText(page, /\n42 \/dev\/pts\/\d+\s*\n/, 30_000);
    await page.keyboard.type('exit 5');
    await page.keyboard.press('Enter');
    await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
    expect(await pageText(page)).toMatch(/skiff\$ $/);
    expect((await sh(page, 'ps -a')).out).not.toContain('skiff/busybox');
  });

  it('a volume: written in one container, read in another (Linux and wasm)', { timeout: 120_000 }, async () => {
    expect((await sh(page, `run --rm -v devnotes:/data skiff/busybox sh -c 'echo written in dev > /data/note'`)).status).toBe(0);
    const r = await sh(page, 'run --rm -v devnotes:/data skiff/busybox cat /data/note');
    expect(r.status).toBe(0);
    expect(r.out).toContain('\nwritten in dev\n');
    const w = await sh(page, `run --rm -v devnotes:/data skiff/lua-wasm -e "io.write(io.open('/data/note'):read('a'))"`);
    expect(w.out).toContain('\nwritten in dev\n');
    // No offline worker under the dev server (it would cache modules the server changes); only the
    // ports-only one, which caches nothing and serves the /_skiff/ports/ links `run -p` prints.
    const workers = await page.evaluate(() => navigator.serviceWorker.getRegistrations().then((x) => x.map((r) => new URL((r.active ?? r.waiting ?? r.installing)?.scriptURL ?? 'about:blank').search)));
    expect(workers).toEqual(['?ports-only']);
    expect(errors).toEqual([]);
  });
});

it('the docs page\'s <skiff-run> components: Linux, wasm, and two sharing a volume', { timeout: 240_000 }, async () => {
  const page = await browser.newPage();
  const errors = watchConsole(page);
  await page.goto(`${url}docs/example.html`);
  type El = HTMLElement & { output: string };
  // #log gets "#id exited N. " or "#id error CODE. " when a component finishes (docs/example.html).
  const settled = (sel: string) => page.waitForFunction((s) => new RegExp(`${s} (exited|error)`).test(document.querySelector('#log')?.textContent ?? ''), sel, { timeout: 200_000 });
  const output = (sel: string) => page.evaluate((s) => (document.querySelector(s) as El).output, sel);
  await settled('#wasm');
  expect(await output('#wasm')).toContain('Hello from WebAssembly!');
  await settled('#linux');
  expect(await output('#linux')).toBe('hello from busybox\n');
  expect(await page.textContent('#log')).toMatch(/^(?=.*#linux exited 0\.)(?=.*#wasm exited 0\.)/);
  await page.locator('#writer button').click();
  await settled('#writer');
  const visits = Number(/visits: (\d+)/.exec(await output('#writer'))?.[1]);
  expect(visits).toBeGreaterThanOrEqual(1);
  await page.locator('#reader button').click();
  await settled('#reader');
  expect((await output('#reader')).trim().split('\n')).toHaveLength(visits);
  expect(await page.textContent('#log')).not.toContain('error');
  expect(errors).toEqual([]);
});
