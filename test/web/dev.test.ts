/**
 * `npm start`: the vite dev server (same config) serves the terminal page from source, modules
 * unbundled, and it works: the engine worker starts, bundled images load, a wasm image runs, the
 * docs example's components run. Catches dev-only breakage (optimizeDeps, worker URLs, v86.wasm).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { launch, ROOT, watchConsole, type Browser } from './harness.ts';

let server: ViteDevServer;
let browser: Browser;
let cacheDir: string;
let url: string;

beforeAll(async () => {
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
});

it('the dev server serves a working terminal page and docs page', { timeout: 240_000 }, async () => {
  const page = await browser.newPage();
  const errors = watchConsole(page);
  await page.goto(url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 180_000 });
  expect(await page.textContent('#status')).toMatch(/^ready/);
  const out = await page.evaluate(async () => {
    const p = (globalThis as unknown as { skiffPage: { execute(l: string): Promise<number>; text(): string } }).skiffPage;
    const status = await p.execute('run --rm skiff/lua-wasm -e "print(20+22)"');
    return { status, text: p.text() };
  });
  expect(out.status).toBe(0);
  expect(out.text).toMatch(/\n42\n/);
  expect(await page.evaluate(() => navigator.serviceWorker.getRegistrations().then((r) => r.length))).toBe(0);
  await page.goto(`${url}docs/example.html`);
  await page.waitForFunction(() => (document.querySelector('#wasm') as unknown as { output?: string })?.output?.includes('Hello from WebAssembly!'), null, { timeout: 120_000 });
  expect(errors).toEqual([]);
});
