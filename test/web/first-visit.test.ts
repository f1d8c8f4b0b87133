/**
 * A first visit in chromium against the built site: `<skiff-run image="skiff/busybox" autorun>`
 * restores the VM from the snapshot `vite build` shipped (vm-images/snapshots/<key>.state) instead
 * of cold-booting, under the key the browser's Machine computes itself; a reload then restores
 * from IndexedDB. When the site has no snapshot for that key (404), the VM boots cold and still
 * prints. The worker's timeline (EngineApi.timeline) says which path ran.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchConsole, type Page } from './harness.ts';
import { useBuiltSite } from './suite.ts';

const web = useBuiltSite();

const HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const HTML = `<!doctype html><title>first visit</title><script type="module" src="./skiff-run.js"></script>
  <skiff-run id="b" image="skiff/busybox" cmd="echo hello" autorun></skiff-run>`;

interface Mark { name: string; at: number; detail?: Record<string, unknown> }

async function visit(page: Page, url: string): Promise<{ firstMs: number; output: string; marks: Mark[] }> {
  await page.goto(url);
  const h = await page.waitForFunction(() => {
    const el = document.querySelector('#b') as unknown as { output?: string; running?: boolean } | null;
    return el?.output && !el.running ? performance.now() : 0;
  }, null, { polling: 100, timeout: 150_000 });
  const firstMs = Math.round((await h.jsonValue()) as number);
  // Strings, not functions: tsx would wrap named functions in a helper the page lacks.
  const r = await page.evaluate(`(async () => ({
    output: document.querySelector('#b').output,
    marks: await globalThis[Symbol.for('skiff.engineClient')].api.timeline(),
  }))()`) as { output: string; marks: Mark[] };
  return { firstMs, ...r };
}

const detail = (marks: Mark[], name: string) => marks.find((m) => m.name === name)?.detail ?? {};

describe('the VM snapshot shipped with the site', () => {
  it('vite build wrote exactly one state under vm-images/snapshots', () => {
    const files = readdirSync(join(web.site.outDir, 'vm-images/snapshots'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^vm-[0-9a-f]{32}\.state$/);
  });

  it('a first visit restores it (under the key the browser computes), a reload restores from IndexedDB', { timeout: 300_000 }, async () => {
    const shipped = readdirSync(join(web.site.outDir, 'vm-images/snapshots'))[0]!.replace(/\.state$/, '');
    const ctx = await web.browser.newContext();
    try {
      await ctx.route(`${web.site.url}visit.html`, (r) => r.fulfill({ contentType: 'text/html', headers: HEADERS, body: HTML }));
      const page = await ctx.newPage();
      const errors = watchConsole(page);
      const first = await visit(page, `${web.site.url}visit.html`);
      expect(first.output).toBe('hello\n');
      expect(detail(first.marks, 'vm.snapshot-from')).toEqual({ from: 'shipped' });
      expect(detail(first.marks, 'vm.ready')).toMatchObject({ restored: true, snapshotKey: shipped });
      // The restore started on the page's early message (web/worker/early-vm.ts), with the v86.wasm it compiled.
      expect(detail(first.marks, 'vm.start')).toEqual({ by: 'page' });
      expect(first.marks.some((m) => m.name === 'vm.v86-from-page')).toBe(true);
      // The page downloaded it (client/snapshot-prefetch.ts), under the same key, and handed it over.
      expect(first.marks.filter((m) => m.name === 'vm.snapshot-page').map((m) => m.detail)).toEqual([{ fetching: true }, { bytes: expect.any(Number) }]);
      expect(detail(first.marks, 'vm.snapshot-read').bytes).toBe(first.marks.filter((m) => m.name === 'vm.snapshot-page').at(-1)!.detail!.bytes);
      // The shipped state is copied into IndexedDB a little after the restore.
      await page.waitForTimeout(1500);
      const again = await visit(page, `${web.site.url}visit.html`);
      expect(again.output).toBe('hello\n');
      expect(detail(again.marks, 'vm.snapshot-from')).toEqual({ from: 'local' });
      expect(again.marks.some((m) => m.name === 'vm.snapshot-page')).toBe(false);
      expect(detail(again.marks, 'vm.start')).toEqual({ by: 'page' });
      expect(detail(again.marks, 'vm.ready')).toMatchObject({ restored: true, snapshotKey: shipped });
      console.log(`first output: first visit ${first.firstMs} ms, reload ${again.firstMs} ms`);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('without a shipped state for the key the VM boots cold and still runs', { timeout: 300_000 }, async () => {
    const ctx = await web.browser.newContext();
    try {
      await ctx.route(`${web.site.url}visit.html`, (r) => r.fulfill({ contentType: 'text/html', headers: HEADERS, body: HTML }));
      await ctx.route(/\/vm-images\/snapshots\//, (r) => r.fulfill({ status: 404, body: 'gone' }));
      const page = await ctx.newPage();
      const v = await visit(page, `${web.site.url}visit.html`);
      expect(v.output).toBe('hello\n');
      expect(detail(v.marks, 'vm.snapshot-from')).toEqual({ from: 'none' });
      expect(detail(v.marks, 'vm.ready')).toMatchObject({ restored: false });
    } finally {
      await ctx.close();
    }
  });
});
