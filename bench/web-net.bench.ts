/**
 * Networking in the browser (issue 16's targets "in the browser as on Node"), in Debian's chromium
 * against the built site, the page's own engine running the VM:
 * - web.net_http_rps: small GETs of busybox httpd in a container published with `-p 8080:80`,
 *   fetched by the page at /_skiff/ports/8080/ (the service worker asks the page's engine, which
 *   opens a TCP connection into the guest per request: keep-alive off), 4 at a time, measured
 *   for 6 s once the rate is steady. Baseline: the same loop fetching a small static file of the
 *   site (same origin). Warm-up: at least 20 s for the port (2 s for the static file), then 2 s
 *   windows until one is within 15% of the one before (at most 60 s in all). A new guest workload makes v86 generate wasm for the guest's hot code, and Chromium
 *   tiers it (and v86.wasm's own hot functions) up with TurboFan on its renderer thread pool for
 *   20-40 s, which takes the cores the emulator runs on (notes/web-rps.md: 1-4.5 CPU-s of every 6 s
 *   under load). The note gives the first window's rate too (the cold figure).
 * - web.net_tcp_mbps: 32 MB from a server this process runs on the host's loopback to a container,
 *   and 32 MB back, through the site's Wisp relay (`--add-host h:host-gateway`); `nc -e dd bs=64k`
 *   in the container as in bench/net.bench.ts; down timed in the container (busybox time), up by
 *   the host server from connect to the last byte; the value is the slower direction. Baseline: the page fetching a 32 MB static file of the site.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Metric } from './run.ts';
import { transferServer } from './util.ts';
import { launch, removeBuild, serveSite, sh, watchConsole, type Page } from '../test/web/harness.ts';

const MB = 1024 * 1024;
const TRANSFER = 32 * MB;
const BODY = 'hello from busybox httpd\n';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (ms: number) => (TRANSFER / MB) / (ms / 1000);

/**
 * GETs of `url` from the page, `parallel` at a time, for `seconds` once steady (see the header);
 * requests per second, and the first warm-up window's rate.
 */
function pageRps(page: Page, url: string, minWarmMs: number, seconds = 6, parallel = 4, windowMs = 2000, maxWarmMs = 60_000): Promise<{ rps: number; cold: number; warmMs: number }> {
  // A string, not a function: tsx's name helper (__name) does not exist in the page.
  return page.evaluate(`(async () => {
    const url = ${JSON.stringify(url)}, body = ${JSON.stringify(BODY)}, parallel = ${parallel};
    const get = async () => {
      const res = await fetch(url, { cache: 'no-store' });
      const text = await res.text();
      if (res.status !== 200 || text !== body) throw new Error('GET ' + url + ': ' + res.status + ' ' + text.slice(0, 200));
    };
    const loop = async (ms) => {
      let done = 0;
      const end = performance.now() + ms;
      await Promise.all(Array.from({ length: parallel }, async () => { while (performance.now() < end) { await get(); done++; } }));
      return done;
    };
    for (let i = 0; ; i++) {
      try { await get(); break; } catch (err) { if (i > 120) throw err; await new Promise((r) => setTimeout(r, 250)); }
    }
    const w0 = performance.now();
    const rate = async (ms) => { const t = performance.now(); const n = await loop(ms); return n / ((performance.now() - t) / 1000); };
    const cold = await rate(${windowMs});
    for (let last = cold; performance.now() - w0 < ${maxWarmMs};) {
      const r = await rate(${windowMs});
      if (performance.now() - w0 >= ${minWarmMs} && Math.abs(r - last) <= 0.15 * Math.max(r, last)) break;
      last = r;
    }
    const warmMs = performance.now() - w0;
    return { rps: await rate(${seconds * 1000}), cold, warmMs };
  })()`) as Promise<{ rps: number; cold: number; warmMs: number }>;
}

/** busybox `time`'s "real" line in `out`, in ms. */
function realMs(out: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(out);
  if (!m) throw new Error(`no time in: ${out.slice(-300)}`);
  return (Number(m[1]) * 60 + Number(m[2])) * 1000;
}

/** Progress on stderr: a browser bench under load runs for minutes. */
const step = (what: string) => process.stderr.write(`  web-net: ${what}\n`);

async function shOk(page: Page, line: string): Promise<string> {
  const r = await sh(page, line);
  if (r.status !== 0) throw new Error(`${line}: exit ${r.status}: ${r.out.slice(-400)}`);
  return r.out;
}

export async function run(): Promise<Record<string, Metric>> {
  const site = await serveSite();
  // Same-origin static files for the baselines.
  writeFileSync(join(site.outDir, 'bench-small.txt'), BODY);
  writeFileSync(join(site.outDir, 'bench-32m.bin'), Buffer.alloc(TRANSFER, 0x5a));
  const browser = await launch();
  const send = await transferServer('send', TRANSFER);
  // The container's FIN reaches the sink as its end (the relay's SHUTDOWN extension, src/net/wisp.ts).
  const sink = await transferServer('sink', TRANSFER);
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const errors = watchConsole(page);
    await page.goto(site.url);
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.reload(); // now controlled by the service worker
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 300_000 });

    step('page ready');
    // --- HTTP through the service worker's port route
    const staticRun = await pageRps(page, '/bench-small.txt', 2000);
    const baseRps = staticRun.rps;
    await shOk(page, `run -d --name web -p 8080:80 skiff/busybox sh -c "mkdir -p /www && echo ${BODY.trim()} > /www/index.html && exec httpd -f -p 80 -h /www"`);
    step(`static file: ${baseRps.toFixed(0)} req/s; container started`);
    const guest = await pageRps(page, '/_skiff/ports/8080/', 20_000);
    const guestRps = guest.rps;
    step(`published port: ${guestRps.toFixed(0)} req/s (first 2 s: ${guest.cold.toFixed(0)}, warm-up ${(guest.warmMs / 1000).toFixed(0)} s)`);
    await shOk(page, 'rm -f web');

    // --- TCP through the Wisp relay: the page's fetch of a static file, then the container both ways
    const base: number[] = [];
    for (let i = 0; i < 3; i++) {
      base.push(await page.evaluate(async (n) => {
        const t0 = performance.now();
        const b = await (await fetch('/bench-32m.bin', { cache: 'no-store' })).arrayBuffer();
        if (b.byteLength !== n) throw new Error(`short static file: ${b.byteLength}`);
        return performance.now() - t0;
      }, TRANSFER));
    }
    // Down is timed in the container (busybox time): the host server's side ends when the relay
    // has the bytes, long before the guest does.
    const down = async () => mbps(realMs(await shOk(page, `run --rm --add-host h:host-gateway skiff/busybox sh -c "time nc h ${send.port} -e dd of=/dev/null bs=64k"`)));
    // From /dev/zero: a file in the container's layer would be 32 MB through 9P into the page's store first.
    const up = async () => { const t = sink.next(); await shOk(page, `run --rm --add-host h:host-gateway skiff/busybox nc h ${sink.port} -e dd if=/dev/zero bs=64k count=${TRANSFER / 65536}`); return mbps(await t); };
    step(`static 32 MB: ${mbps(median(base)).toFixed(1)} MB/s`);
    step(`warm-up down: ${(await down()).toFixed(1)} MB/s (discarded: v86 JIT)`);
    const downs: number[] = [];
    const ups: number[] = [];
    for (let i = 0; i < 2; i++) {
      downs.push(await down());
      ups.push(await up());
      step(`down ${downs.at(-1)!.toFixed(1)}, up ${ups.at(-1)!.toFixed(1)} MB/s`);
    }
    if (errors.length) process.stderr.write(`web-net: page errors: ${errors.join('; ')}\n`);
    const load = loadavg()[0]!.toFixed(2);
    return {
      'web.net_http_rps': {
        value: Math.round(guestRps), unit: 'req/s', baseline: Math.round(baseRps),
        note: `chromium: busybox httpd in a container at /_skiff/ports/8080/ through the service worker, 4 parallel, 6 s once steady (warm-up ${(guest.warmMs / 1000).toFixed(0)} s: v86's JIT code tiering up in Chromium; the first 2 s did ${guest.cold.toFixed(0)} req/s); baseline: a static file of the site, same loop; load ${load}`,
      },
      'web.net_tcp_mbps': {
        value: Math.round(Math.min(median(downs), median(ups)) * 10) / 10, unit: 'MB/s', baseline: Math.round(mbps(median(base)) * 10) / 10,
        note: `chromium: 32 MB host <-> container through the site's Wisp relay, slower direction; down ${median(downs).toFixed(1)}, up ${median(ups).toFixed(1)} MB/s (nc -e dd bs=64k); baseline: the page fetching a 32 MB static file; load ${load}`,
      },
    };
  } finally {
    await browser.close();
    send.server.close();
    sink.server.close();
    rmSync(join(site.outDir, 'bench-32m.bin'), { force: true });
    await site.close();
    await removeBuild();
  }
}
