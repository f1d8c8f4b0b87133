/**
 * The demo terminal page, built with `vite build` and served by `vite preview`, in Debian's
 * chromium: bundled images after first use, typing into xterm, loading by file picker and by
 * drag and drop, a broken archive (clear error, nothing lost), save as a real download, reload
 * (IndexedDB), SkiffError codes across the worker boundary, offline after the first visit.
 */
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeArchives, type Archives } from './fixtures.ts';
import { watchConsole, type BrowserContext, type Page, sh, type PageHandle } from './harness.ts';
import { useBuiltSite } from './suite.ts';
import { requireTool } from '../helpers/peers.ts';

let archives: Archives;

const web = useBuiltSite({
  setup: async () => {
    archives = await makeArchives();
  },
  cleanup: async () => {
    if (archives) await rm(archives.dir, { recursive: true, force: true });
  },
});

async function openTerminal(ctx: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors = watchConsole(page);
  await page.goto(web.site.url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 90_000 });
  return { page, errors };
}


/** Drops bytes as a file named `name` on the page, the way a user's drag and drop arrives. */
async function drop(page: Page, name: string, bytes: Buffer): Promise<void> {
  // Bytes go in as base64: the service worker controls the page, so page.route cannot serve them.
  await page.evaluate(({ b64, name }) => {
    const bin = atob(b64);
    const data = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([data], name, { type: 'application/x-tar' }));
    document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { b64: bytes.toString('base64'), name });
  await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
}

const BUNDLED = ['skiff/busybox', 'skiff/hello-wasm', 'skiff/lua-wasm', 'skiff/sqlite-wasm', 'skiff/tools'];

function repos(imagesOut: string): string[] {
  return imagesOut.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter((r) => r && r !== 'skiff$' && !r.startsWith('REPOSITORY')).sort();
}

describe('terminal page (built site, chromium)', () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ctx = await web.browser.newContext({ acceptDownloads: true });
    ({ page, errors } = await openTerminal(ctx));
  }, 120_000);
  afterAll(async () => { await ctx?.close(); });

  it('loads, is cross-origin isolated, and lists the bundled images after first use', async () => {
    expect(await page.getAttribute('#status', 'data-state'), await page.textContent('#status') ?? '').toBe('ready');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const r = await sh(page, 'images');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+PLATFORM\s+SIZE/);
    expect(repos(r.out)).toEqual(BUNDLED);
    expect(r.out).toMatch(/skiff\/hello-wasm\s+latest\s+[0-9a-f]{12}\s.*wasi\/wasm/);
    expect(errors).toEqual([]);
  });

  it('typing into the terminal runs the command (line editing included)', async () => {
    await page.click('#terminal');
    await page.keyboard.type('ps -q');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('a');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /skiff\$ ps -a\n(.*\n)*CONTAINER ID\s+IMAGE/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()));
    await page.keyboard.type('nosuchcommand');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text().includes("'nosuchcommand' is not a skiff command"));
  });

  it('keys typed while a command runs wait for the prompt (type-ahead), and Ctrl-C drops them', async () => {
    const text = () => page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    await page.click('#terminal');
    const before = (await text()).length;
    // The second line is typed at once, while the first command still runs: not one key is lost.
    await page.keyboard.type('run --rm skiff/busybox sh -c "sleep 1; echo first-done"\r');
    await page.keyboard.type('run --rm skiff/hello-wasm typed-ahead\r');
    await page.waitForFunction(() => /argv\[1\]=typed-ahead/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), null, { timeout: 120_000 });
    const t = (await text()).slice(before);
    expect(t.indexOf('first-done')).toBeLessThan(t.indexOf('argv[1]=typed-ahead'));
    expect(t).toContain('skiff$ run --rm skiff/hello-wasm typed-ahead');
    expect(t).not.toContain('is not a skiff command');
    // The wasm command prints before it ends: wait for its prompt, or the next line would itself be
    // type-ahead, and the Ctrl-C below would rightly drop it too.
    await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
    // Ctrl-C while a command runs flushes what was typed ahead, as a TTY does.
    await page.keyboard.type('run --rm skiff/busybox sh -c "sleep 2; echo second-done"\r');
    await page.keyboard.type('echo-never-run');
    await page.keyboard.press('Control+C');
    await page.waitForFunction(() => /second-done\n(.*\n)*skiff\$ $/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), null, { timeout: 120_000 });
    // Had the keys survived, this line would read "echo-never-runversion" and fail.
    await page.keyboard.type('version\r');
    await page.waitForFunction(() => /skiff\$ version\n/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()), null, { timeout: 30_000 });
    expect((await text()).slice(before)).not.toContain('echo-never-run');
  }, 240_000); // the page's first Linux container: the VM starts in Chromium, slow under load

  it('runs a wasm image and prints its output', async () => {
    const r = await sh(page, 'run --rm skiff/hello-wasm one "two words"');
    expect(r.out).toContain('Hello from WebAssembly!');
    expect(r.out).toContain('argv[2]=two words');
    expect(r.out).toContain('GREETING=hello from skiff');
    expect(r.status).toBe(0);
  });

  it('start -a attaches a created container; exec-style attach through the Engine\'s own API in the worker', async () => {
    expect((await sh(page, 'create --name attachme skiff/hello-wasm via-start')).status).toBe(0);
    const r = await sh(page, 'start -a attachme');
    expect(r).toMatchObject({ status: 0, out: expect.stringContaining('argv[1]=via-start') });
    expect((await sh(page, 'start attachme')).out).toContain('attachme');
    expect((await sh(page, 'wait attachme')).out).toMatch(/\n0\n/);
    expect((await sh(page, 'rm attachme')).status).toBe(0);
  });

  it('run -it: keystrokes are the process\'s stdin, Ctrl-D ends it, Ctrl-C kills it', async () => {
    const text = (): Promise<string> => page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    await page.click('#terminal');
    await page.keyboard.type('run -it --rm skiff/lua-wasm');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Lua 5\.4/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()));
    await page.keyboard.type('print(6*7, "from stdin")');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /\n42\s+from stdin/.test((globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text()));
    await page.keyboard.press('Control+D');
    await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
    expect(await text()).toMatch(/\nskiff\$ $/);

    const status = page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.execute('run -i --name spin skiff/lua-wasm -e "while true do end"'));
    await page.waitForTimeout(300);
    await page.keyboard.press('Control+C');
    expect(await status).toBe(130);
    expect((await sh(page, 'ps -a')).out).toMatch(/Exited \(130\).*spin/);
    expect((await sh(page, 'rm spin')).status).toBe(0);
  });

  it('usage errors and engine errors are clear, with Docker exit codes', async () => {
    expect(await sh(page, 'images --bogus')).toMatchObject({ status: 125, out: expect.stringContaining('unknown flag: --bogus') });
    expect(await sh(page, 'rmi')).toMatchObject({ status: 125, out: expect.stringContaining('"skiff rmi" requires at least 1 argument') });
    // `inspect` is the CLI's (container or image): Docker's words for neither.
    expect(await sh(page, 'inspect skiff/nothing-here')).toMatchObject({ status: 1, out: expect.stringContaining('No such object: skiff/nothing-here') });
  });

  it('SkiffError codes survive the worker boundary', async () => {
    const got = await page.evaluate(async () => {
      // The Engine's own API through the worker (client.api.engine), with the Engine's method names.
      const api = (globalThis as unknown as { skiffPage: { client: { api: { engine: { inspectImage(o: { ref: string }): Promise<unknown>; removeContainer(o: { id: string }): Promise<unknown> } } } } }).skiffPage.client.api.engine;
      const out: unknown[] = [];
      for (const f of [() => api.inspectImage({ ref: 'skiff/none' }), () => api.inspectImage({ ref: 'Bad Ref!' }), () => api.removeContainer({ id: 'nope' })]) {
        try { await f(); out.push('no error'); } catch (e) { out.push({ name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message }); }
      }
      return out;
    });
    expect(got[0]).toMatchObject({ name: 'SkiffError', code: 'NOT_FOUND', message: expect.stringContaining('skiff/none') });
    expect(got[1]).toMatchObject({ name: 'SkiffError', code: 'INVALID_ARGUMENT' });
    expect(got[2]).toMatchObject({ name: 'SkiffError', code: 'NOT_FOUND', message: 'No such container: nope' });
  });

  it('loads an archive chosen with the file picker, with progress', async () => {
    const file = join(archives.dir, 'picked.tar');
    await writeFile(file, archives.valid);
    await sh(page, 'tag skiff/busybox skiff/keep:1');
    const chooser = page.waitForEvent('filechooser');
    const run = sh(page, 'load');
    await (await chooser).setFiles(file);
    const r = await run;
    expect(r.out).toContain('Loaded image: skiff/dropped:v1');
    expect(r.status).toBe(0);
    expect(await page.isHidden('#load-progress')).toBe(true);
    expect(repos((await sh(page, 'images')).out)).toContain('skiff/dropped');
    await sh(page, 'rmi skiff/dropped:v1');
  });

  it('a dropped archive loads; broken ones give a clear error and lose nothing', async () => {
    const before = (await sh(page, 'images')).out;
    await drop(page, 'cut.tar', archives.truncated);
    let text = await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    expect(text).toMatch(/Error: .*cut\.tar.*(truncated|unexpected end|short)/i);
    await drop(page, 'corrupt.tar', archives.corrupt);
    text = await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    expect(text).toMatch(/Error: .*corrupt\.tar/);
    const after = (await sh(page, 'images')).out;
    expect(repos(after)).toEqual(repos(before));
    // A good drop still works after the failures.
    await drop(page, 'dropped.tar', archives.valid);
    text = await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    expect(text).toContain('Loaded image: skiff/dropped:v1');
    expect(repos((await sh(page, 'images')).out)).toEqual([...repos(before), 'skiff/dropped'].sort());
  });

  it('save downloads an archive skopeo accepts', async () => {
    const download = page.waitForEvent('download');
    const r = await sh(page, 'save -o hello.tar skiff/hello-wasm');
    expect(r.status).toBe(0);
    const d = await download;
    expect(d.suggestedFilename()).toBe('hello.tar');
    const path = join(archives.dir, 'saved.tar');
    await d.saveAs(path);
    const inspect = JSON.parse(execFileSync(requireTool('skopeo', 'skopeo'), ['inspect', `docker-archive:${path}`], { encoding: 'utf8' })) as { Os: string; Architecture: string; RepoTags?: string[] };
    expect(inspect.Os).toBe('wasi');
    expect(inspect.Architecture).toBe('wasm');
  });

  it('a reload keeps images and containers (IndexedDB) without seeding again', async () => {
    await sh(page, 'create --name kept skiff/hello-wasm');
    const images = repos((await sh(page, 'images')).out);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 60_000 });
    const text = await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
    expect(text).not.toContain('Loaded bundled images');
    expect(repos((await sh(page, 'images')).out)).toEqual(images);
    expect((await sh(page, 'ps -a')).out).toMatch(/skiff\/hello-wasm\s.*Created\s+kept/);
    // An image the user removed stays removed.
    await sh(page, 'rmi skiff/lua-wasm');
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 60_000 });
    expect(repos((await sh(page, 'images')).out)).not.toContain('skiff/lua-wasm');
  });
});

describe('offline after the first visit', () => {
  it('the service worker serves the page, the engine, the bundled images and the guest', { timeout: 240_000 }, async () => {
    const ctx = await web.browser.newContext();
    try {
      const { page } = await openTerminal(ctx);
      await page.evaluate(async () => { await navigator.serviceWorker.ready; });
      await page.reload(); // now controlled by the service worker
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
      await ctx.setOffline(true);
      await page.reload();
      await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 60_000 });
      expect(repos((await sh(page, 'images')).out)).toEqual(BUNDLED);
      const r = await sh(page, 'run --rm skiff/hello-wasm offline');
      expect(r.out).toContain('argv[1]=offline');
      // The guest (kernel, initrd, BIOS, v86.wasm) comes from the cache: the VM boots offline.
      const linux = await sh(page, 'run --rm skiff/busybox echo linux offline');
      expect(linux.out, linux.out).toMatch(/\nlinux offline\n/);
      // The docs page and the component library were precached too.
      await page.goto(`${web.site.url}docs/example.html`);
      expect(await page.evaluate(() => customElements.get('skiff-run') !== undefined)).toBe(true);
      expect(await page.evaluate(async () => (await fetch('../skiff-run.js')).ok)).toBe(true);
    } finally {
      await ctx.close();
    }
  });
});
