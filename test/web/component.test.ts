/**
 * `<skiff-run>` in chromium: the docs example page (several components, one engine worker), the
 * element's contract (output, skiff-exit, skiff-error, editable command), the one-script-tag
 * library build on a page of another origin, and a server without COOP/COEP headers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, watchConsole, type Browser, type Page, type Site } from './harness.ts';

let site: Site;
let plain: Site;
let browser: Browser;

beforeAll(async () => {
  site = await serveSite();
  plain = await serveSite({ isolated: false });
  browser = await launch();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await plain?.close();
  await removeBuild();
});

interface Outcome { exit?: number; error?: { code: string; message: string }; output: string }

/** Waits for the element's next skiff-exit or skiff-error (or reads the one already recorded). */
function outcome(page: Page, selector: string): Promise<Outcome> {
  return page.evaluate((sel) => new Promise<Outcome>((resolve) => {
    const el = document.querySelector(sel) as HTMLElement & { output: string; running: boolean };
    const rec = (el as unknown as { __outcome?: Outcome }).__outcome;
    if (rec && !el.running) return resolve(rec);
    el.addEventListener('skiff-exit', (e) => resolve({ exit: (e as CustomEvent).detail.exitCode, output: el.output }), { once: true });
    el.addEventListener('skiff-error', (e) => resolve({ error: (e as CustomEvent).detail, output: el.output }), { once: true });
  }), selector);
}

/** Records every component's outcome as it happens (autorun may finish before we ask). */
async function recordOutcomes(page: Page): Promise<void> {
  await page.addInitScript(() => {
    for (const type of ['skiff-exit', 'skiff-error']) {
      document.addEventListener(type, (e) => {
        const el = e.target as HTMLElement & { output: string };
        const d = (e as CustomEvent).detail;
        (el as unknown as { __outcome: unknown }).__outcome = type === 'skiff-exit' ? { exit: d.exitCode, output: el.output } : { error: d, output: el.output };
      });
    }
  });
}

describe('docs example page', () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    const ctx = await browser.newContext();
    page = await ctx.newPage();
    errors = watchConsole(page);
    await recordOutcomes(page);
    await page.goto(`${site.url}docs/example.html`);
  }, 120_000);

  it('autoruns the wasm component: output property and skiff-exit', async () => {
    const r = await outcome(page, '#wasm');
    expect(r.error).toBeUndefined();
    expect(r.exit).toBe(0);
    expect(r.output).toContain('Hello from WebAssembly!');
    expect(r.output).toContain('GREETING=hello from skiff');
  });

  it('the Linux component (v86 VM) prints hello', { timeout: 180_000 }, async () => {
    const r = await outcome(page, '#linux');
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ exit: 0, output: 'hello from busybox\n' });
  });

  it('the VM waited for the wasm component: none of its steps ran before the hold ended', async () => {
    // early-vm.ts startVm: the page's 'vm' message comes while the wasm element's hold is open
    // (it autoruns: client prepare({ run })), so even the VM's light steps wait for it.
    const marks = await page.evaluate(`globalThis[Symbol.for('skiff.engineClient')].api.timeline()`) as { name: string; at: number; detail?: Record<string, unknown> }[];
    const at = (pred: (m: { name: string; detail?: Record<string, unknown> }) => boolean) => marks.find(pred)?.at;
    const opened = at((m) => m.name === 'vm.held' && m.detail?.['step'] === 'vm start');
    expect(opened, marks.map((m) => m.name).join(' ')).toBeDefined();
    expect(at((m) => m.name === 'vm.start')).toBeLessThanOrEqual(opened!);
    for (const step of ['vm.manifest', 'vm.v86-compile', 'vm.snapshot-read', 'vm.emulator-started']) {
      expect(at((m) => m.name === step), step).toBeGreaterThanOrEqual(opened!);
    }
    // The page left v86's compile to the worker (it would take the cores the wasm start needs).
    expect(marks.some((m) => m.name === 'vm.v86-from-page')).toBe(false);
    // The wasm element's module worker was started at prepare (runtimes.ts warmWasi), before its run printed.
    expect(at((m) => m.name === 'wasi.spare')).toBeLessThanOrEqual(at((m) => m.name === 'run.first-output')!);
    // The worker's script: loaded (ms since the page created it) before init.
    const loaded = marks.find((m) => m.name === 'worker.loaded');
    expect(loaded?.detail?.['ms']).toEqual(expect.any(Number));
    expect(loaded!.at).toBeLessThanOrEqual(at((m) => m.name === 'init')!);
  });

  it("the engine worker's script is one file and leaves out the Docker API (a chunk loaded on the first dockerRequest)", () => {
    // Parsed before the worker answers anything: a page's first run needs none of the API's code.
    const scripts = [...readdirSync(join(site.outDir, 'assets')).filter((f) => /^engine-worker-.*\.js$/.test(f)).map((f) => join(site.outDir, 'assets', f)), join(site.outDir, 'skiff-engine-worker.js')];
    expect(scripts).toHaveLength(2);
    for (const f of scripts) {
      const src = readFileSync(f, 'utf8');
      expect(src, f).not.toContain('Docker-Experimental');
      // One file: what it shares with its lazy chunks is in it, not in chunks it would import first (vite.config.ts).
      expect(src, f).not.toMatch(/(^|[;}\s])import\s*[{*\w][^;]*?from\s*["']/);
    }
    const chunks = readdirSync(join(site.outDir, 'lib')).map((f) => readFileSync(join(site.outDir, 'lib', f), 'utf8'));
    expect(chunks.some((c) => c.includes('Docker-Experimental'))).toBe(true);
  });

  it('a Linux and a wasm component share a volume', { timeout: 180_000 }, async () => {
    for (const id of ['#writer', '#reader']) await page.evaluate((sel) => { delete (document.querySelector(sel) as unknown as { __outcome?: unknown }).__outcome; }, id);
    let done = outcome(page, '#writer');
    await page.locator('#writer button').click();
    const w = await done;
    expect(w.exit, w.output).toBe(0);
    const visits = Number(/visits: (\d+)/.exec(w.output)?.[1]);
    expect(visits).toBeGreaterThanOrEqual(1);
    done = outcome(page, '#reader');
    await page.locator('#reader button').click();
    const r = await done;
    expect(r.exit, r.output).toBe(0);
    expect(r.output.trim().split('\n')).toHaveLength(visits);
  });

  it('Run with an edited command runs the new command', async () => {
    const input = page.locator('#lua').locator('input');
    await input.fill(`-e "print(6*7)"`);
    const done = outcome(page, '#lua');
    await page.locator('#lua').locator('button').click();
    const r = await done;
    expect(r).toMatchObject({ exit: 0, output: '42\n' });
    await page.evaluate(() => { delete (document.querySelector('#lua') as unknown as { __outcome?: unknown }).__outcome; });
    await input.fill(`-e "os.exit(3)"`);
    const failed = outcome(page, '#lua');
    await input.press('Enter');
    expect(await failed).toMatchObject({ exit: 3 });
  });

  it('a bad image gives skiff-error with its code', async () => {
    const r = await page.evaluate(() => new Promise<unknown>((resolve) => {
      const el = document.createElement('skiff-run');
      el.setAttribute('image', 'skiff/does-not-exist');
      el.setAttribute('cmd', 'true');
      el.addEventListener('skiff-error', (e) => resolve((e as CustomEvent).detail));
      el.addEventListener('skiff-exit', (e) => resolve({ unexpectedExit: (e as CustomEvent).detail }));
      document.body.append(el);
      void (el as unknown as { run(): Promise<unknown> }).run();
    }));
    expect(r).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('skiff/does-not-exist') });
  });

  it('keeps only the newest max-output characters of a flood, in few nodes, and says what it dropped', async () => {
    const r = await page.evaluate(() => new Promise<{ exit: number; output: string; spans: number; notice: string; hidden: boolean }>((resolve) => {
      const el = document.createElement('skiff-run') as HTMLElement & { output: string; run(): Promise<unknown> };
      el.setAttribute('image', 'skiff/lua-wasm');
      el.setAttribute('max-output', '2000');
      el.setAttribute('cmd', `-e "for i=1,100000 do io.write(i, '\\n') io.stderr:write(i % 5000 == 1 and 'tick\\n' or '') end"`);
      el.addEventListener('skiff-exit', (e) => {
        const root = el.shadowRoot!;
        const notice = root.querySelector<HTMLElement>('.trimmed')!;
        resolve({ exit: (e as CustomEvent).detail.exitCode, output: el.output, spans: root.querySelector('pre')!.childElementCount, notice: notice.textContent ?? '', hidden: notice.hidden === true });
      });
      document.body.append(el);
      void el.run();
    }));
    expect(r.exit).toBe(0);
    expect(r.output.length).toBe(2000);
    // stdout (buffered by the module) and stderr (unbuffered) arrive in no fixed order across the
    // two streams: a last "tick" may follow the final stdout flush.
    expect(r.output.replace(/tick\n/g, '').slice(-13)).toBe('99999\n100000\n');
    expect(r.spans).toBeLessThanOrEqual(3);
    expect(r.hidden).toBe(false);
    expect(r.notice).toMatch(/^… [\d.]+[kM]B of earlier output not shown \(the last 2kB are kept\)$/);
  });

  it('all components share one engine worker', async () => {
    expect(await page.locator('skiff-run').count()).toBeGreaterThanOrEqual(4);
    const engines = page.workers().filter((w) => /engine-worker/.test(w.url()));
    expect(engines).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});

describe('the library build (dist/skiff-run.js) with one script tag', () => {
  it.each([
    ['without', false],
    ['with', true],
  ])('works on a page of another origin %s COOP/COEP (workers from blob URLs, assets over CORS)', { timeout: 180_000 }, async (_w, isolated) => {
    // The host page is served by its own server: another origin (port) on loopback, as a docs
    // site embedding skiff from a CDN would be. Isolated, the wasm module runs in a nested worker.
    const host = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      if (isolated) {
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      }
      res.end(`<!doctype html><title>docs</title><script type="module" src="${site.url}skiff-run.js"></script>
        <skiff-run id="a" image="skiff/hello-wasm" cmd="from-another-origin" autorun></skiff-run>
        <skiff-run id="b" image="skiff/busybox" cmd="echo linux from another origin" autorun></skiff-run>`);
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await recordOutcomes(page);
      await page.goto(`http://127.0.0.1:${(host.address() as AddressInfo).port}/guide.html`);
      const r = await outcome(page, '#a');
      expect(r.error).toBeUndefined();
      expect(r.output).toContain('argv[1]=from-another-origin');
      expect(await outcome(page, '#b')).toMatchObject({ exit: 0, output: 'linux from another origin\n' });
      expect(new URL(page.url()).origin).not.toBe(new URL(site.url).origin);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(isolated);
      // Every worker started from a blob URL, since the scripts are on the other origin: the
      // engine and (isolated) the wasm workers, told apart by their names. The emulator runs
      // inside the engine worker, beside the 9P server (no skiff-vm worker).
      expect(page.workers().every((w) => w.url().startsWith('blob:'))).toBe(true);
      const names = async (): Promise<string[]> => (await Promise.all(page.workers().map((w) => w.evaluate(() => self.name).catch(() => '')))).sort();
      await expect.poll(names).toEqual(expect.arrayContaining(['skiff-engine', ...(isolated ? ['skiff-wasi'] : [])]));
      expect(await names()).not.toContain('skiff-vm');
      if (!isolated) expect(await names()).not.toContain('skiff-wasi');
    } finally {
      await ctx.close();
      host.close();
    }
  });

  it('works without COOP/COEP headers (no SharedArrayBuffer: wasm runs inline in the engine worker)', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await recordOutcomes(page);
    await page.goto(`${plain.url}docs/example.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const r = await outcome(page, '#wasm');
    expect(r).toMatchObject({ exit: 0, output: expect.stringContaining('Hello from WebAssembly!') });
    await ctx.close();
  });
});
