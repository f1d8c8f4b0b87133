/**
 * mem.image_growth_mb_chromium (issue 15): the browser's side of mem.image_growth_mb
 * (big-image.bench.ts). In Debian's chromium on the built site (COOP/COEP on), a page with one
 * `<skiff-run>` (the library build) runs `true` in the Debian bookworm i386 fixture (190 MB
 * unpacked, imported once into the profile's IndexedDB through the page's engine) or in
 * skiff/busybox; `performance.measureUserAgentSpecificMemory()` (page + its workers, the engine
 * worker and the emulator included) once the run ended; Debian minus busybox, medians of 3, each
 * sample a fresh page (a fresh engine worker) of one profile, alternating. The browser has no
 * peak figure: this is what the tab holds after the run, not the process's peak RSS as on Node.
 * Chromium counts JS heaps and ArrayBuffers (a 100 MB Uint8Array in a worker adds 100 MB) but
 * not WebAssembly memory: the emulator's guest RAM is not in either figure (the same for both).
 * Skipped (no metric) when the fixture is missing and cannot be built here.
 */
import { readFileSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import type { Metric } from './run.ts';
import { loadNote, median } from './util.ts';
import { CHROMIUM_ARGS, removeBuild, serveSite } from '../test/web/harness.ts';
import { requireTool } from '../test/helpers/peers.ts';
import { BIG_IMAGE, bigImagePath } from '../test/helpers/big-image.ts';

const HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const IMAGES = { busybox: 'skiff/busybox', debian: BIG_IMAGE } as const;
type Which = keyof typeof IMAGES;

export async function run(): Promise<Record<string, Metric>> {
  const fixture = bigImagePath();
  if (!fixture) {
    process.stderr.write('  web-big-image: fixture missing and not buildable here: skipped\n');
    return {};
  }
  const site = await serveSite();
  // Eager measurement: without it measureUserAgentSpecificMemory waits for a natural GC (up to ~20 s).
  const browser = await chromium.launch({ executablePath: requireTool('chromium', 'chromium'), args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'] });
  try {
    const ctx = await browser.newContext();
    const tarball = readFileSync(fixture);
    await ctx.route(`${site.url}debian.tar.gz`, (r) => r.fulfill({ contentType: 'application/gzip', headers: HEADERS, body: tarball }));
    for (const which of Object.keys(IMAGES) as Which[]) {
      await ctx.route(`${site.url}bench-${which}.html`, (r) => r.fulfill({
        contentType: 'text/html', headers: HEADERS,
        body: `<!doctype html><title>bench</title><script type="module" src="./skiff-run.js"></script><skiff-run id="b" image="${IMAGES[which]}" cmd="true"></skiff-run>`,
      }));
    }
    const t0 = performance.now();
    await importFixture(ctx, site.url);
    const importMs = performance.now() - t0;
    // First runs: the bundled image's load, the VM's boot and snapshot, the layer's data.
    for (const which of ['busybox', 'debian'] as const) await sample(ctx, site.url, which);
    const mb: Record<Which, number[]> = { busybox: [], debian: [] };
    for (let i = 0; i < 3; i++) for (const which of ['busybox', 'debian'] as const) mb[which].push(await sample(ctx, site.url, which));
    const r = (x: number) => Math.round(x);
    return {
      'mem.image_growth_mb_chromium': {
        value: r(median(mb.debian) - median(mb.busybox)), unit: 'MB',
        note: `chromium, built site, <skiff-run> running \`true\` then performance.measureUserAgentSpecificMemory() (page + workers: JS heaps and ArrayBuffers, not the emulator's WebAssembly memory; after the run, no peak figure in a browser): Debian bookworm i386 (190 MB unpacked, imported into IndexedDB through the page in ${r(importMs / 1000)} s) ${mb.debian.map(r).join(', ')} MB minus skiff/busybox ${mb.busybox.map(r).join(', ')} MB, medians of 3, a fresh page each; ${loadNote()}`,
      },
    };
  } finally {
    await browser.close();
    await site.close();
    await removeBuild();
  }
}

/** The fixture into the profile's store through the page's engine (EngineApi.engine.importImage). */
async function importFixture(ctx: BrowserContext, base: string): Promise<void> {
  const page = await ctx.newPage();
  await page.goto(`${base}bench-busybox.html`);
  await page.evaluate(async (ref) => {
    const key = Symbol.for('skiff.engineClient');
    for (let i = 0; i < 600 && !(globalThis as Record<symbol, unknown>)[key]; i++) await new Promise((r) => setTimeout(r, 50));
    const c = (globalThis as unknown as Record<symbol, { ready: Promise<unknown>; api: { engine: { importImage(o: unknown): Promise<unknown> } } }>)[key]!;
    await c.ready;
    const data = new Uint8Array(await (await fetch('./debian.tar.gz')).arrayBuffer());
    await c.api.engine.importImage({
      data, name: 'debian-bookworm-i386.tar.gz', ref,
      changes: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    });
  }, BIG_IMAGE);
  await page.close();
}

/** A fresh page runs `true` in the image; its memory (MB, page + workers) after the run. */
async function sample(ctx: BrowserContext, base: string, which: Which): Promise<number> {
  const page = await ctx.newPage();
  try {
    await page.goto(`${base}bench-${which}.html`);
    await page.waitForFunction(() => customElements.get('skiff-run') !== undefined, null, { timeout: 120_000 });
    const out = await page.evaluate(async () => {
      const el = document.querySelector('#b') as HTMLElement & { run(): Promise<number | undefined>; output: string };
      const exit = await el.run();
      // Let the run's teardown (--rm, the container's overlay) settle before measuring.
      await new Promise((r) => setTimeout(r, 1000));
      const p = performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
      if (!crossOriginIsolated || !p.measureUserAgentSpecificMemory) return { exit, output: el.output, bytes: -1 };
      return { exit, output: el.output, bytes: (await p.measureUserAgentSpecificMemory()).bytes };
    });
    if (out.exit !== 0) throw new Error(`${IMAGES[which]} true in the page: exit ${out.exit}: ${out.output.slice(-300)}`);
    if (out.bytes < 0) throw new Error('measureUserAgentSpecificMemory is not available (not cross-origin isolated?)');
    return out.bytes / 1e6;
  } finally {
    await page.close();
  }
}
