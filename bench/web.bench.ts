/**
 * The browser product, measured in Debian's chromium through playwright-core against the built
 * site (`vite build` + `vite preview`, COOP/COEP on). A page with one
 * `<skiff-run image=IMAGE cmd=... autorun>` (the library build, one script tag); time from
 * navigation start to the component's first output, median of 3:
 * - web.first_output_cold_ms: a fresh browser profile (no IndexedDB: the bundled image is
 *   fetched and loaded, the VM restores from the snapshot the build shipped with the site);
 * - web.first_output_snapshot_ms: the same profile reloaded (image and VM snapshot in IndexedDB);
 * - web.first_output_no_snapshot_ms: a fresh profile on a site without a shipped snapshot (404):
 *   the VM boots cold (and saves its state) before the container starts;
 * - web.first_output_wasm_ms: docs/example.html reloaded (images and VM snapshot in IndexedDB),
 *   navigation to the first output of its wasm element (`#wasm`, skiff/hello-wasm), while its
 *   Linux element restores the VM in the same engine worker. Its note splits it: the page creates
 *   the worker, the worker's script loads (`worker.loaded`), init, the run, its create, its first
 *   output in the worker; the VM's start waits for that output (`vm.held` 'vm start'). Side by side
 *   (built sites served at once, alternated, medians of 6, load 24-27): init -> first output
 *   233 ms at 0cdcc5e, 277 at 6535f58, 150 at 962b62e (VM start held, worker script 513 -> 392 KB
 *   in one file); the page's part before the worker exists is the larger part under such load;
 * - web.heap_mb: the page's memory after a run, workers included
 *   (performance.measureUserAgentSpecificMemory; JS heap of the page as the fallback).
 * The issue's metrics are for skiff/busybox (the VM); where linux/386 cannot run they are measured
 * with skiff/hello-wasm and say so in their note.
 * 9P from the browser (as p9.* in Node), timed inside the guest with busybox `time` so container
 * start is not counted:
 * - web.p9_find_files_per_s: `find / -xdev` over skiff/tools' root filesystem (the overlay served
 *   by the 9P server in the engine worker, the emulator beside it in the same worker);
 * - web.p9_read_mbps: `cat` of a 32 MiB file written by the same container into its layer.
 */
import { availableParallelism, loadavg } from 'node:os';
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
    /** Where the time went, from the engine worker's timeline (ms since navigation). */
    const phases: string[] = [];
    let lastPhases = '';
    /** The phases of the run whose time is the median, for the metric's note. */
    const phaseOf = new Map<number, string>();
    const firstOutput = async (page: import('playwright-core').Page): Promise<number> => {
      await page.goto(`${site.url}bench.html`);
      const h = await page.waitForFunction(() => {
        const el = document.querySelector('#b') as unknown as { output?: string } | null;
        return el?.output ? performance.now() : 0;
      }, null, { polling: 'raf', timeout: 120_000 });
      const first = (await h.jsonValue()) as number;
      if (image === 'skiff/busybox') {
        const t = await page.evaluate(`(async () => {
          const marks = await globalThis[Symbol.for('skiff.engineClient')].api.timeline();
          const at = (n) => Math.round((marks.find((m) => m.name === n)?.at ?? NaN) - performance.timeOrigin);
          const d = (n) => marks.find((m) => m.name === n)?.detail ?? {};
          const emu = d('vm.emulator-started');
          const out = d('run.first-output');
          return 'init ' + at('init') + ', vm.warm ' + at('vm.warm') + ', snapshot read ' + at('vm.snapshot-read') + ' (' + (d('vm.snapshot-from').from ?? '?') + (marks.some((m) => m.name === 'vm.snapshot-page') ? ', by the page' : '') + ')'
            + ', checked ' + at('vm.snapshot-checked') + ', emulator ' + at('vm.emulator-started') + ' (build ' + emu.loadedMs + ', inflate ' + emu.inflateMs + ', restore ' + emu.restoreMs + ')'
            + ', agent ' + at('vm.agent-ready') + ', vm ready ' + at('vm.ready') + ', created ' + at('run.create') + ', started ' + at('run.start')
            + ', 9P before output ' + out.p9Requests + ' (' + out.p9Waited + ' waited ' + out.p9WaitMs + ' ms)';
        })()`) as string;
        phases.push(`${Math.round(first)}: ${t}`);
        lastPhases = t;
      }
      return first;
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
      phaseOf.set(cold.at(-1)!, lastPhases);
      warm.push(await firstOutput(page));
      phaseOf.set(warm.at(-1)!, lastPhases);
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
    const noSnap: number[] = [];
    if (image === 'skiff/busybox') {
      for (let i = 0; i < 3; i++) {
        const ctx = await browser.newContext();
        await ctx.route(`${site.url}bench.html`, (r) => r.fulfill({ contentType: 'text/html', headers: HEADERS, body: html }));
        await ctx.route(/\/vm-images\/snapshots\//, (r) => r.fulfill({ status: 404, body: 'no shipped snapshot' }));
        noSnap.push(await firstOutput(await ctx.newPage()));
        await ctx.close();
      }
    }
    const docsWasm: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${site.url}docs/example.html`);
      // The first visit stores the images and the VM snapshot (copied in 0.5 s after its restore).
      await page.waitForFunction(() => ['#wasm', '#linux'].every((id) => (document.querySelector(id) as unknown as { output?: string } | null)?.output), null, { timeout: 120_000 });
      await page.waitForTimeout(1500);
      await page.goto(`${site.url}docs/example.html`);
      const h = await page.waitForFunction(() => ((document.querySelector('#wasm') as unknown as { output?: string } | null)?.output ? performance.now() : 0), null, { polling: 'raf', timeout: 120_000 });
      docsWasm.push((await h.jsonValue()) as number);
      phaseOf.set(docsWasm.at(-1)!, await page.evaluate(`(async () => {
        const marks = await globalThis[Symbol.for('skiff.engineClient')].api.timeline();
        const at = (n) => Math.round((marks.find((m) => m.name === n)?.at ?? NaN) - performance.timeOrigin);
        const held = marks.filter((m) => m.name === 'vm.held').map((m) => m.detail.step + ' ' + m.detail.ms + ' ms');
        const loaded = marks.find((m) => m.name === 'worker.loaded');
        const created = loaded ? Math.round(loaded.at - loaded.detail.ms - performance.timeOrigin) : NaN;
        return 'worker created ' + created + ', loaded ' + at('worker.loaded') + ', init ' + at('init') + ', run ' + at('run') + ', created ' + at('run.create')
          + ', first output (worker) ' + at('run.first-output') + ', VM held for it: ' + (held.join(', ') || 'no') + ', VM ready ' + at('vm.ready');
      })()`) as string);
      await ctx.close();
    }
    // Where the time went in each run (engine-worker timeline, ms since navigation).
    for (const p of phases) process.stderr.write(`  first output ${p}\n`);
    const p9 = image === 'skiff/busybox' ? await measure9p(site.url, browser) : {};
    const load = `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;
    const which = `${image === 'skiff/busybox' ? 'skiff/busybox echo hello' : 'skiff/hello-wasm (linux/386 cannot run here)'}; ${load}`;
    return {
      'web.first_output_cold_ms': { value: Math.round(median(cold)), unit: 'ms', note: `${which}; fresh profile, bundled image fetched+loaded, VM restored from the site's shipped snapshot; runs ${cold.map(Math.round).join('/')}${phaseOf.get(median(cold)) ? `; median run's timeline (ms since navigation): ${phaseOf.get(median(cold))}` : ''}` },
      'web.first_output_snapshot_ms': { value: Math.round(median(warm)), unit: 'ms', note: `${which}; reload, store in IndexedDB${image === 'skiff/busybox' ? ', VM snapshot' : ''}; runs ${warm.map(Math.round).join('/')}${phaseOf.get(median(warm)) ? `; median run's timeline (ms since navigation): ${phaseOf.get(median(warm))}` : ''}` },
      ...(noSnap.length ? { 'web.first_output_no_snapshot_ms': { value: Math.round(median(noSnap)), unit: 'ms', note: `${which}; fresh profile, site without a shipped snapshot: cold boot + state save; runs ${noSnap.map(Math.round).join('/')}` } } : {}),
      'web.first_output_wasm_ms': { value: Math.round(median(docsWasm)), unit: 'ms', note: `docs/example.html reloaded (store and VM snapshot in IndexedDB): #wasm (skiff/hello-wasm) first output while #linux restores the VM; ${load}; runs ${docsWasm.map(Math.round).join('/')}; median run: ${phaseOf.get(median(docsWasm)) ?? ''}` },
      'web.heap_mb': { value: Math.round(heap / 1e5) / 10, unit: 'MB', note: heapHow },
      ...p9,
    };
  } finally {
    await browser.close();
    await site.close();
    await removeBuild();
  }
}

/** busybox `time` prints "real\t0m 1.23s" (or "real 0m1.230s"): seconds. */
function realSeconds(text: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(text);
  if (!m) throw new Error(`no "real" time in: ${text.slice(-300)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

async function measure9p(siteUrl: string, browser: import('playwright-core').Browser): Promise<Record<string, Metric>> {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(`${siteUrl}docs/example.html`);
    // Strings, not functions: tsx would wrap named functions in a helper the page lacks.
    const run = (image: string, script: string): Promise<string> => page.evaluate(`(async () => {
      const key = Symbol.for('skiff.engineClient');
      for (let i = 0; i < 600 && !globalThis[key]; i++) await new Promise((r) => setTimeout(r, 50));
      const c = globalThis[key];
      let out = '';
      const dec = new TextDecoder();
      const r = await c.run({ image: ${JSON.stringify(image)}, cmd: ['sh', '-c', ${JSON.stringify(script)}], rm: true },
        { stdout: (d) => { out += dec.decode(d, { stream: true }); }, stderr: (d) => { out += dec.decode(d, { stream: true }); } });
      if (r.exitCode !== 0) throw new Error('exit ' + r.exitCode + ': ' + out.slice(-300));
      return out;
    })()`) as Promise<string>;
    const finds: number[] = [];
    let files = 0;
    for (let i = 0; i < 3; i++) {
      const out = await run('skiff/tools', 'find / -xdev | wc -l; time find / -xdev > /dev/null');
      files = Number(out.trim().split(/\s+/)[0]);
      finds.push(realSeconds(out));
    }
    const cats: number[] = [];
    for (let i = 0; i < 3; i++) {
      cats.push(realSeconds(await run('skiff/busybox', 'dd if=/dev/zero of=/big bs=1M count=32 2>/dev/null; sync; time cat /big > /dev/null')));
    }
    const f = median(finds);
    const c = median(cats);
    return {
      'web.p9_find_files_per_s': { value: Math.round(files / f), unit: 'files/s', note: `find / -xdev over skiff/tools (${files} entries) in chromium, median of 3 (${finds.join(', ')} s); 9P server and emulator both in the engine worker` },
      'web.p9_read_mbps': { value: Math.round((32 * 1.048576 / c) * 10) / 10, unit: 'MB/s', note: `guest cat of 32 MiB over 9P in chromium, median of 3 (${cats.join(', ')} s)` },
    };
  } finally {
    await ctx.close();
  }
}
