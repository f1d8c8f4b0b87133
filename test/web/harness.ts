/**
 * Browser-test harness: builds the site once per test file into a temp dir (`vite build`, the
 * real production build incl. dist/skiff-run.js), serves it with `vite preview` (COOP/COEP
 * headers on, or off for the fallback test), and launches Debian's chromium via playwright-core.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { requireTool } from '../helpers/peers.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Site {
  outDir: string;
  url: string;
  server: PreviewServer;
  close(): Promise<void>;
}

let built: Promise<string> | undefined;

/** `vite build` into a temp dir (once per process). */
export function buildSite(): Promise<string> {
  return (built ??= (async () => {
    const outDir = process.env['SKIFF_WEB_DIST'] ?? (await mkdtemp(join(tmpdir(), 'skiff-web-')));
    if (process.env['SKIFF_WEB_DIST']) return outDir; // prebuilt (bench, debugging)
    process.env['SKIFF_WEB_OUT'] = outDir;
    // vitest sets NODE_ENV=test, which would make vite build a development bundle (DEV=true: no
    // service worker). Build exactly what `npm run build` builds.
    const nodeEnv = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    try {
      await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error', mode: 'production' });
    } finally {
      delete process.env['SKIFF_WEB_OUT'];
      if (nodeEnv === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = nodeEnv;
    }
    return outDir;
  })());
}

export async function serveSite(o: { isolated?: boolean } = {}): Promise<Site> {
  const outDir = await buildSite();
  if (o.isolated === false) process.env['SKIFF_NO_ISOLATION'] = '1';
  let server: PreviewServer;
  try {
    server = await preview({
      configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error',
      build: { outDir },
      preview: { port: 0, strictPort: false, host: '127.0.0.1' },
    });
  } finally {
    delete process.env['SKIFF_NO_ISOLATION'];
  }
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  return {
    outDir, url, server,
    async close() {
      await server.close();
    },
  };
}

export async function removeBuild(): Promise<void> {
  if (built && !process.env['SKIFF_WEB_DIST']) await rm(await built, { recursive: true, force: true });
  built = undefined;
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: requireTool('chromium', 'chromium'), args: CHROMIUM_ARGS });
}

/** Collects page errors and console errors, for assertions and for failure messages. */
export function watchConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') lines.push(`console: ${m.text()}`); });
  return lines;
}

/** What the terminal page exposes to tests as `globalThis.skiffPage`. */
export interface PageHandle { execute(line: string): Promise<number>; text(): string; idle(): Promise<void> }

/** Runs a line in the page's shell; returns its status and only the output it printed. */
export async function sh(page: Page, line: string): Promise<{ status: number; out: string }> {
  return page.evaluate(async (l) => {
    const p = (globalThis as unknown as { skiffPage: PageHandle }).skiffPage;
    await p.idle();
    const before = p.text().length;
    const status = await p.execute(l);
    return { status, out: p.text().slice(before) };
  }, line);
}

export type { Browser, BrowserContext, Page };
