/**
 * The WASI runtime in headless Chromium (playwright-core): bundled with esbuild and served on a
 * routed localhost origin (a secure context, which crossOriginIsolated needs), once crossOriginIsolated (COOP/COEP: the module runs in a Web Worker, kill works on
 * a busy loop) and once not (no SharedArrayBuffer: the module runs inline on the page).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium } from '../../helpers/browser.ts';
import { fixture } from './helpers.ts';

const PAGE_ENTRY = `
import { runWasi, canUseWorker, webWorkerSpawner } from './src/runtime/wasi/index.ts';
import { Overlay } from './src/fs/overlay.ts';

const spawn = webWorkerSpawner('/wasi-worker.js');
const wasm = {};
async function load(name) { return (wasm[name] ??= new Uint8Array(await (await fetch('/' + name + '.wasm')).arrayBuffer())); }

globalThis.skiffWasi = async (name, args, extra = {}) => {
  const fs = new Overlay({ lower: null });
  let stdout = '', stderr = '';
  const dec = new TextDecoder();
  const proc = runWasi({ module: await load(name), args, mounts: [{ path: '/', fs }], stdin: extra.stdin, spawn,
    onStdout: (d) => (stdout += dec.decode(d, { stream: true })), onStderr: (d) => (stderr += dec.decode(d)) });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  if (extra.killAfterMs) setTimeout(() => proc.kill('SIGKILL'), extra.killAfterMs);
  const exit = await proc.exited;
  clearInterval(timer);
  const files = fs.readdir(fs.root()).map((e) => e.name).sort();
  return { ...exit, stdout, stderr, mode: proc.mode, ticks, files, isolated: globalThis.crossOriginIsolated, canUseWorker: canUseWorker() };
};
`;

let browser: Browser;
let pageJs: string;
let workerJs: string;
const modules: Record<string, Uint8Array> = {};

beforeAll(async () => {
  const external = ['node:*', 'esbuild'];
  pageJs = await bundleForBrowser({ source: PAGE_ENTRY, external });
  workerJs = await bundleForBrowser({ entryPoint: 'workers/wasi-worker.ts', external });
  for (const name of ['fsops', 'spin', 'trap']) modules[name] = fixture(name);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(isolated: boolean): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const headers: Record<string, string> = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  await page.route('http://localhost:5999/**', (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/') return route.fulfill({ contentType: 'text/html', headers, body: '<!doctype html><title>skiff wasi</title><script type="module" src="/page.js"></script>' });
    if (path === '/page.js') return route.fulfill({ contentType: 'text/javascript', headers, body: pageJs });
    if (path === '/wasi-worker.js') return route.fulfill({ contentType: 'text/javascript', headers, body: workerJs });
    const m = /^\/(\w+)\.wasm$/.exec(path);
    if (m && modules[m[1]!]) return route.fulfill({ contentType: 'application/wasm', headers, body: Buffer.from(modules[m[1]!]!) });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  await page.goto('http://localhost:5999/');
  await page.waitForFunction(() => 'skiffWasi' in globalThis, undefined, { timeout: 10_000 }).catch((e: Error) => {
    throw new Error(`page did not load: ${errors.join('; ') || e.message}`);
  });
  return page;
}

type Result = { exitCode: number; signal?: number; trap?: string; stdout: string; stderr: string; mode: string; ticks: number; files: string[]; isolated: boolean; canUseWorker: boolean };
function run(page: Page, name: string, args: string[], extra: { stdin?: string; killAfterMs?: number } = {}): Promise<Result> {
  return page.evaluate(([n, a, e]) => (globalThis as unknown as { skiffWasi(...x: unknown[]): Promise<Result> }).skiffWasi(n, a, e), [name, args, extra] as const);
}

describe('WASI in Chromium', () => {
  it('crossOriginIsolated: runs in a Web Worker over the page-side overlay', async () => {
    const page = await openPage(true);
    const r = await run(page, 'fsops', ['fsops', 'mkdir', '/d', 'write', '/d/f', 'hi', 'mv', '/d/f', '/g', 'cat', '/g', 'ln-s', 'g', '/l', 'readlink', '/l', 'ls', '/']);
    expect(r).toMatchObject({ isolated: true, canUseWorker: true, mode: 'worker', exitCode: 0 });
    expect(r.stdout).toBe('ok\nok\nok\nhi\nok\ng\nd g l\n');
    expect(r.files).toEqual(['d', 'g', 'l']);
    await page.close();
  });

  it('crossOriginIsolated: kill stops a busy loop and the page kept running meanwhile', async () => {
    const page = await openPage(true);
    const r = await run(page, 'spin', ['spin'], { killAfterMs: 400 });
    expect(r).toMatchObject({ mode: 'worker', exitCode: 137, signal: 9 });
    expect(r.ticks).toBeGreaterThan(10);
    const t = await run(page, 'trap', ['trap']);
    expect(t).toMatchObject({ mode: 'worker', exitCode: 134, stdout: 'about to trap\n' });
    expect(t.trap).toMatch(/wasm trap: unreachable/);
    await page.close();
  });

  it('not isolated: no SharedArrayBuffer, the module runs inline on the page', async () => {
    const page = await openPage(false);
    const r = await run(page, 'fsops', ['fsops', 'write', '/f', 'x', 'cat', '/f', 'ls', '/'], { stdin: 'ignored' });
    expect(r).toMatchObject({ isolated: false, canUseWorker: false, mode: 'inline', exitCode: 0, stdout: 'ok\nx\nf\n' });
    const t = await run(page, 'trap', ['trap']);
    expect(t).toMatchObject({ mode: 'inline', exitCode: 134 });
    await page.close();
  });
});
