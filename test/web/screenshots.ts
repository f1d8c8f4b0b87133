/**
 * `npx tsx test/web/screenshots.ts`: builds the site, drives it in chromium and writes the README's
 * screenshots: docs/terminal.png (the demo terminal) and docs/components.png (the docs example).
 */
import { join } from 'node:path';
import { launch, removeBuild, ROOT, serveSite } from './harness.ts';

interface PageHandle { execute(line: string): Promise<number>; idle(): Promise<void> }

const site = await serveSite();
const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 640 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  await page.goto(site.url);
  await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 90_000 });
  await page.evaluate(async () => {
    const p = (globalThis as unknown as { skiffPage: PageHandle & { term: { clear(): void } } }).skiffPage;
    await p.idle();
    p.term.clear();
    for (const line of ['images', 'run --rm skiff/busybox uname -srm', `run --rm -v notes:/data skiff/busybox sh -c 'echo hi from linux > /data/hello; ls -l /data'`,
      `run --rm -v notes:/data skiff/lua-wasm -e "io.write(io.open('/data/hello'):read('a'), _VERSION, '\\n')"`, 'run --name db skiff/sqlite-wasm :memory: "select sqlite_version();"', 'ps -a']) {
      await p.execute(line);
    }
  });
  await page.screenshot({ path: join(ROOT, 'docs/terminal.png') });

  const docs = await ctx.newPage();
  await docs.setViewportSize({ width: 900, height: 1200 });
  await docs.goto(`${site.url}docs/example.html`);
  await docs.waitForFunction(() => [...document.querySelectorAll('skiff-run')].filter((e) => e.hasAttribute('autorun')).every((e) => !(e as unknown as { running: boolean }).running && (e as unknown as { output: string }).output !== ''), null, { timeout: 60_000 });
  for (const id of ['lua', 'writer', 'reader']) {
    await docs.locator(`#${id} button`).click();
    await docs.waitForFunction((sel) => {
      const el = document.querySelector(sel) as unknown as { output: string; running: boolean };
      return !el.running && el.output !== '';
    }, `#${id}`, { timeout: 120_000 });
  }
  await docs.screenshot({ path: join(ROOT, 'docs/components.png'), fullPage: true });
  await ctx.close();
} finally {
  await browser.close();
  await site.close();
  await removeBuild();
}
process.stdout.write('wrote docs/terminal.png, docs/components.png\n');
