/**
 * The browser product, measured in Debian's chromium through playwright-core against the built
 * site (`vite build` + `vite preview`, COOP/COEP on). A page with one
 * `<skiff-run image=IMAGE cmd=... autorun>` (the library build, one script tag); time from
 * navigation start to the component's first output, median of 3:
 * - web.first_output_cold_ms: a fresh browser profile (no IndexedDB: the bundled images are
 *   fetched and loaded, no VM snapshot);
 * - web.first_output_snapshot_ms: the same profile reloaded (images and, once the VM run path
 *   exists, the VM snapshot are in IndexedDB);
 * - web.heap_mb: the page's memory after a run, workers included
 *   (performance.measureUserAgentSpecificMemory; JS heap of the page as the fallback).
 * The metrics are for skiff/busybox (the VM); until the engine can run linux/386 images,
 * they are measured with skiff/hello-wasm and say so in their note.
 */
import type { Metric } from './run.ts';
import { launch, removeBuild, serveSite } from '../test/web/harness.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export async function run(): Promise<Record<string, Metric>> {
  const site = await serveSite();
  const browser = await launch();
  try {
    const page0 = await (await browser.newContext()).newPage();
    const capsUrl = `${site.url}docs/example.html`;
    await page0.goto(capsUrl);
    const image = await page0.evaluate(async () => {
      // The docs page's engine tells whether linux/386 runs yet.
      const key = Symbol.for('skiff.engineClient');
      for (let i = 0; i < 600 && !(globalThis as Record<symbol, unknown>)[key]; i++) await new Promise((r) => setTimeout(r, 50));
      const c = (globalThis as unknown as Record<symbol, { api: { capabilities(): Promise<{ runLinux: boolean }> }; ready: Promise<unknown> }>)[key]!;
      await c.ready;
      return (await c.api.capabilities()).runLinux ? 'skiff/busybox' : 'skiff/hello-wasm';
    });
    await page0.context().close();
    const cmd = image === 'skiff/busybox' ? 'echo hello' : 'hello';
    const html = `<!doctype html><title>bench</title><script type="module" src="./skiff-run.js"></script>
      <skiff-run id="b" image="${image}" cmd="${cmd}" autorun></skiff-run>`;
    const firstOutput = async (page: import('playwright-core').Page): Promise<number> => {
      await page.goto(`${site.url}bench.html`);
      const h = await page.waitForFunction(() => {
        const el = document.querySelector('#b') as unknown as { output?: string } | null;
        return el?.output ? performance.now() : 0;
      }, null, { polling: 'raf', timeout: 120_000 });
      return (await h.jsonValue()) as number;
    };
    const cold: number[] = [];
    const warm: number[] = [];
    let heap = 0;
    let heapHow = '';
    for (let i = 0; i < 3; i++) {
      const ctx = await browser.newContext();
      await ctx.route(`${site.url}bench.html`, (r) => r.fulfill({ contentType: 'text/html', headers: HEADERS, body: html }));
      const page = await ctx.newPage();
      cold.push(await firstOutput(page));
      warm.push(await firstOutput(page));
      if (i === 0) {
        await page.waitForFunction(() => !(document.querySelector('#b') as unknown as { running: boolean }).running);
        const m = await page.evaluate(async () => {
          const p = performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
          if (crossOriginIsolated && p.measureUserAgentSpecificMemory) return { bytes: (await p.measureUserAgentSpecificMemory()).bytes, how: 'measureUserAgentSpecificMemory (page + workers)' };
          return { bytes: (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize, how: 'performance.memory.usedJSHeapSize (page only)' };
        });
        heap = m.bytes;
        heapHow = m.how;
      }
      await ctx.close();
    }
    const which = image === 'skiff/busybox' ? 'skiff/busybox echo hello' : 'skiff/hello-wasm (linux/386 run path not in the engine yet)';
    return {
      'web.first_output_cold_ms': { value: Math.round(median(cold)), unit: 'ms', note: `${which}; fresh profile, bundled images fetched+loaded; runs ${cold.map(Math.round).join('/')}` },
      'web.first_output_snapshot_ms': { value: Math.round(median(warm)), unit: 'ms', note: `${which}; reload, store in IndexedDB${image === 'skiff/busybox' ? ', VM snapshot' : ''}; runs ${warm.map(Math.round).join('/')}` },
      'web.heap_mb': { value: Math.round(heap / 1e5) / 10, unit: 'MB', note: heapHow },
    };
  } finally {
    await browser.close();
    await site.close();
    await removeBuild();
  }
}
