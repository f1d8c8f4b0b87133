/**
 * Linux containers in the browser: the built site in chromium starts our guest in v86 (inside the
 * engine worker, beside the 9P server; restored from the snapshot the build shipped), runs skiff/busybox through crun over the 9P-served overlay, an
 * interactive shell typed through xterm.js, and a volume whose data survives a reload (the VM
 * then restores from its IndexedDB snapshot).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, watchConsole, type Browser, type BrowserContext, type Page, type Site, sh, type PageHandle } from './harness.ts';

let site: Site;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let errors: string[];

async function ready(p: Page): Promise<void> {
  await p.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 90_000 });
  await p.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
}


const text = (): Promise<string> => page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
  ctx = await browser.newContext();
  page = await ctx.newPage();
  errors = watchConsole(page);
  await page.goto(site.url);
  await ready(page);
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await removeBuild();
});

describe('linux/386 containers in chromium', () => {
  it('run --rm skiff/busybox echo hello (first run starts the VM)', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const r = await sh(page, 'run --rm skiff/busybox echo hello');
    expect(r.out).toMatch(/^ ?run --rm skiff\/busybox echo hello\nhello\n/);
    expect(r.status).toBe(0);
    console.log(`first busybox run (VM from the shipped snapshot): ${Date.now() - t0} ms`);
    expect(errors).toEqual([]);
  });

  it('exit codes, stderr, and the container\'s own hostname and pid namespace', { timeout: 120_000 }, async () => {
    expect((await sh(page, `run --rm skiff/busybox sh -c 'echo oops >&2; exit 3'`)).status).toBe(3);
    expect(await text()).toMatch(/\noops\n/);
    const r = await sh(page, `run --rm --hostname boxy skiff/busybox sh -c 'hostname; echo pid $$'`);
    expect(r.out).toMatch(/\nboxy\npid 1\n/);
  });

  it('an interactive shell typed through the terminal (a PTY in the guest)', { timeout: 120_000 }, async () => {
    await page.click('#terminal');
    await page.keyboard.type('run -it --rm skiff/busybox sh');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /\/ # $/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), null, { timeout: 60_000 });
    await page.keyboard.type('echo $((6*7)) $(tty)');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /\n42 \/dev\/pts\/\d+\s*\n/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), null, { timeout: 30_000 });
    // The guest's terminal has the page's size, and follows it when the window changes.
    const size = (): Promise<{ cols: number; rows: number }> => page.evaluate(() => {
      const t = (globalThis as unknown as { skiffPage: { term: { cols: number; rows: number } } }).skiffPage.term;
      return { cols: t.cols, rows: t.rows };
    });
    const sttySize = async (mark: string): Promise<string> => {
      await page.keyboard.type(`echo ${mark}; stty size`);
      await page.keyboard.press('Enter');
      const re = new RegExp(`\\n${mark}\\s*\\n(\\d+ \\d+)\\s*\\n`);
      await page.waitForFunction((src) => new RegExp(src).test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), re.source, { timeout: 30_000 });
      return re.exec(await text())![1]!;
    };
    const before = await size();
    expect(await sttySize('size-one')).toBe(`${before.rows} ${before.cols}`);
    const vp = page.viewportSize()!;
    await page.setViewportSize({ width: Math.round(vp.width * 0.6), height: Math.round(vp.height * 0.7) });
    await expect.poll(async () => (await size()).cols).toBeLessThan(before.cols);
    const after = await size();
    expect(await sttySize('size-two')).toBe(`${after.rows} ${after.cols}`);
    await page.setViewportSize(vp);
    await page.keyboard.type('exit 5');
    await page.keyboard.press('Enter');
    await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
    expect(await text()).toMatch(/skiff\$ $/);
  });

  it('run -d, exec, logs, stop: a background container', { timeout: 180_000 }, async () => {
    const d = await sh(page, `run -d --name sleeper skiff/busybox sh -c 'echo started; exec sleep 1000'`);
    expect(d.status).toBe(0);
    expect(d.out).toMatch(/\n[0-9a-f]{64}\n/);
    expect((await sh(page, 'ps')).out).toMatch(/Up .*sleeper/);
    const x = await sh(page, `exec sleeper sh -c 'echo exec in $(hostname), pid 1 is $(cat /proc/1/comm)'`);
    expect(x.status).toBe(0);
    expect(x.out).toMatch(/\nexec in [0-9a-f]{12}, pid 1 is sleep\n/);
    expect((await sh(page, 'logs sleeper')).out).toMatch(/\nstarted\n/);
    expect((await sh(page, 'stop -t 1 sleeper')).status).toBe(0);
    expect((await sh(page, 'wait sleeper')).out).toMatch(/wait sleeper\n137\n/);
    expect((await sh(page, 'ps -a')).out).toMatch(/Exited \(137\).*sleeper/);
    expect((await sh(page, 'rm sleeper')).status).toBe(0);
  });

  it('a volume keeps its data across a reload; Linux and wasm containers share it', { timeout: 240_000 }, async () => {
    expect((await sh(page, `run --rm -v notes:/data skiff/busybox sh -c 'echo written by linux > /data/note'`)).status).toBe(0);
    await page.reload();
    await ready(page);
    const t0 = Date.now();
    const r = await sh(page, 'run --rm -v notes:/data skiff/busybox cat /data/note');
    console.log(`first busybox run after reload (snapshot restore): ${Date.now() - t0} ms`);
    expect(r.out).toContain('\nwritten by linux\n');
    const w = await sh(page, `run --rm -v notes:/data skiff/lua-wasm -e "io.write(io.open('/data/note'):read('a'))"`);
    expect(w.out).toContain('\nwritten by linux\n');
    expect((await sh(page, 'volume ls')).out).toMatch(/local\s+notes/);
    const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(dbs).toContain('skiff-vm');
  });
});
