/**
 * The same guest in headless Chromium (playwright-core, Debian's chromium): the page boots it in a
 * Web Worker from artifacts served over HTTP, runs a guest command and a crun container, and saves
 * a snapshot to IndexedDB; a reload restores from IndexedDB instead of booting.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../helpers/peers.ts';

const PAGE_ENTRY = `
import { Machine } from './src/runtime/vm/machine.ts';
import { httpArtifacts } from './src/runtime/vm/artifacts.ts';
import { spawnWebVmWorker } from './src/runtime/vm/worker-web.ts';
import { idbSnapshots } from './src/runtime/vm/snapshot-idb.ts';
import { busyboxConfig, prepareBusyboxRootfs } from './test/runtime/vm/bundle.ts';

async function outcome(p) {
  const [stdout, status] = await Promise.all([p.stdout.text(), p.wait()]);
  return { stdout, status };
}

globalThis.skiffVm = async (withContainer) => {
  const m = await Machine.start({
    artifacts: httpArtifacts('/vm/'),
    snapshots: idbSnapshots(),
    spawnWorker: () => spawnWebVmWorker({ workerUrl: '/vm-worker.js', wasmUrl: '/v86.wasm' }),
  });
  const plain = await outcome(await m.agent.spawn({ args: ['sh', '-c', 'echo hello from $(uname -m); exit 3'] }));
  let boxed = null;
  if (withContainer) {
    await prepareBusyboxRootfs(m.agent, '/run/b/rootfs');
    boxed = await outcome(await m.agent.run({ id: 'web1', bundle: '/run/b', config: busyboxConfig({ args: ['sh', '-c', 'echo in $(hostname) as pid $$'], hostname: 'webbox' }) }));
  }
  const clock = await outcome(await m.agent.spawn({ args: ['date', '+%s'] }));
  await m.shutdown();
  return { boot: m.boot, plain, boxed, guestEpoch: Number(clock.stdout.trim()), hostEpoch: Math.floor(Date.now() / 1000), mainThreadIsWindow: typeof window !== 'undefined' };
};
`;

const root = process.cwd();
let browser: Browser;
let pageJs: string;
let workerJs: string;

beforeAll(async () => {
  const common = { bundle: true, format: 'esm' as const, platform: 'browser' as const, write: false, logLevel: 'silent' as const, external: ['node:*', 'esbuild', 'crypto', 'fs', 'perf_hooks'] }; // libv86 imports these only under Node
  pageJs = (await build({ ...common, stdin: { contents: PAGE_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'page.ts' } })).outputFiles![0]!.text;
  workerJs = (await build({ ...common, entryPoints: ['workers/vm-worker.ts'] })).outputFiles![0]!.text;
  browser = await chromium.launch({
    executablePath: requireTool('chromium', 'chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const files: Record<string, () => Buffer> = {
  '/v86.wasm': () => readFileSync(join(root, 'node_modules/v86/build/v86.wasm')),
};
for (const f of ['manifest.json', 'bzImage', 'initrd.lz4', 'bios.bin']) files[`/vm/${f}`] = () => readFileSync(join(root, 'vm-images/dist', f));

async function route(page: Page): Promise<void> {
  await page.route('http://localhost:5998/**', (r) => {
    const path = new URL(r.request().url()).pathname;
    if (path === '/') return r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>skiff vm</title><script type="module" src="/page.js"></script>' });
    if (path === '/page.js') return r.fulfill({ contentType: 'text/javascript', body: pageJs });
    if (path === '/vm-worker.js') return r.fulfill({ contentType: 'text/javascript', body: workerJs });
    const f = files[path];
    if (f) return r.fulfill({ contentType: path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream', body: f() });
    return r.fulfill({ status: 404, body: 'not found' });
  });
}

type Result = {
  boot: { restored: boolean; readyMs: number; savedBytes?: number };
  plain: { stdout: string; status: { exitCode: number } };
  boxed: { stdout: string; status: { exitCode: number } } | null;
  guestEpoch: number; hostEpoch: number; mainThreadIsWindow: boolean;
};

async function runOn(page: Page, withContainer: boolean): Promise<Result> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('http://localhost:5998/');
  await page.waitForFunction(() => 'skiffVm' in globalThis, undefined, { timeout: 20_000 }).catch((e: Error) => {
    throw new Error(`page did not load: ${errors.join('; ') || e.message}`);
  });
  return page.evaluate((c) => (globalThis as unknown as { skiffVm(c: boolean): Promise<Result> }).skiffVm(c), withContainer);
}

describe('guest VM in Chromium', () => {
  it('boots in a worker, runs a command and a container, then restores from IndexedDB', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await route(page);
    const cold = await runOn(page, true);
    expect(cold.mainThreadIsWindow).toBe(true); // the page stayed responsive: the emulator is in the worker
    expect(cold.boot.restored).toBe(false);
    expect(cold.boot.savedBytes).toBeGreaterThan(1_000_000);
    expect(cold.plain).toEqual({ stdout: 'hello from i686\n', status: { exitCode: 3, oomKilled: false } });
    expect(cold.boxed).toEqual({ stdout: 'in webbox as pid 1\n', status: { exitCode: 0, oomKilled: false } });

    const again = await runOn(page, false); // same origin: the snapshot is in IndexedDB now
    console.info(`chromium: cold boot ${Math.round(cold.boot.readyMs)} ms, restore ${Math.round(again.boot.readyMs)} ms`);
    expect(again.boot.restored).toBe(true);
    expect(again.plain.status.exitCode).toBe(3);
    expect(Math.abs(again.guestEpoch - again.hostEpoch)).toBeLessThanOrEqual(2);
    await context.close();
  }, 300_000);
});
