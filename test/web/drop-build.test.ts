/**
 * `build` on a folder dropped on the terminal page (built site, chromium). Playwright cannot drag
 * an OS folder, and Chromium hands a test no real directory entries, so the drop event is
 * dispatched in the page with a stand-in DataTransfer whose item yields a directory entry: first
 * entries over the File objects Chromium read from a folder on disk (a webkitdirectory input),
 * then hand-made entries that read in one-entry batches.
 * Each builds a two-stage Dockerfile (FROM scratch AS a, COPY --from=a) and runs the result.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, sh, watchConsole, type Browser, type Page, type PageHandle, type Site } from './harness.ts';

let site: Site;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  [site, dir] = await Promise.all([serveSite(), mkdtemp(join(tmpdir(), 'skiff-drop-build-'))]);
  browser = await launch();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await removeBuild();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DOCKERFILE = 'FROM scratch AS a\nCOPY src/ /app/\nFROM skiff/lua-wasm\nCOPY --from=a /app/ /app/\nCMD ["/app/main.lua"]\n';
const MAIN = 'io.write("lua says: " .. io.open("/app/data/msg.txt"):read("a"))\n';

/** Drops whatever `makeEntry` (run in the page) returns, as the only item of a real drop event. */
async function dropEntry(page: Page, makeEntry: string): Promise<void> {
  await page.evaluate((src) => {
    const entry = (0, eval)(src)();
    const item = { kind: 'file', type: '', webkitGetAsEntry: () => entry, getAsFile: () => null };
    // A page cannot put entries in a DataTransfer, so the event carries a stand-in with the same shape.
    const dt = { types: ['Files'], files: [], items: [item], dropEffect: 'none' };
    for (const type of ['dragenter', 'drop']) {
      const ev = new DragEvent(type, { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: dt });
      document.body.dispatchEvent(ev);
    }
  }, makeEntry);
  await page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
}

async function text(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.text());
}

describe('build on a folder dropped on the terminal page', () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    const ctx = await browser.newContext();
    page = await ctx.newPage();
    errors = watchConsole(page);
    await page.goto(site.url);
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 90_000 });
  }, 120_000);

  it('reads a folder from disk through directory entries, builds two stages and runs the image', { timeout: 240_000 }, async () => {
    const folder = join(dir, 'luaapp');
    await mkdir(join(folder, 'src/data'), { recursive: true });
    await writeFile(join(folder, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(folder, 'src/main.lua'), MAIN);
    await writeFile(join(folder, 'src/data/msg.txt'), 'from a dropped folder\n');
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.webkitdirectory = true;
      input.id = 'test-folder';
      input.hidden = true;
      document.body.append(input);
    });
    await page.setInputFiles('#test-folder', folder);
    // Chromium gives no directory entries for files set by a test (webkitEntries stays empty), so
    // entries are built over the File objects it read from disk, by their webkitRelativePath.
    await dropEntry(page, `() => {
      const files = [...document.querySelector('#test-folder').files];
      const dir = (name, prefix) => {
        const names = [...new Set(files.map((f) => f.webkitRelativePath).filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length).split('/')[0]))];
        const children = names.map((n) => {
          const f = files.find((x) => x.webkitRelativePath === prefix + n);
          return f ? { name: n, isFile: true, isDirectory: false, file: (ok) => ok(f) } : dir(n, prefix + n + '/');
        });
        return { name, isFile: false, isDirectory: true, createReader() {
          let done = false;
          return { readEntries: (ok) => { ok(done ? [] : children); done = true; } };
        } };
      };
      return dir('luaapp', 'luaapp/');
    }`);
    expect(await text(page)).toContain('context luaapp: 3 files; type build -t NAME . to build it');

    const r = await sh(page, 'build --platform wasi/wasm -t dropped:1 .');
    // BuildKit counts no FROM step for scratch: stage a has one command.
    expect(r.out).toMatch(/\[a 1\/1\] COPY src\/ \/app\//);
    expect(r.out).toMatch(/\[stage-1 2\/2\] COPY --from=a \/app\/ \/app\//);
    expect(r.out).toContain('naming to docker.io/library/dropped:1 done');
    expect(r.status).toBe(0);
    const ran = await sh(page, 'run --rm dropped:1');
    expect(ran.out).toContain('lua says: from a dropped folder');
    expect(ran.status).toBe(0);

    // The folder was the context of that build only: the next one asks the picker again.
    const picked = join(dir, 'Dockerfile');
    await writeFile(picked, 'FROM skiff/lua-wasm\nLABEL picked=yes\n');
    const chooser = page.waitForEvent('filechooser', { timeout: 30_000 });
    const again = sh(page, 'build -q -t picked:1 .');
    await (await chooser).setFiles([picked]);
    expect((await again).status).toBe(0);
    expect((await sh(page, 'inspect -f {{.Config.Labels.picked}} picked:1')).out).toContain('yes');
    expect(errors).toEqual([]);
  });

  it('reads nested entries handed out in batches, and `build SUBDIR` builds a folder inside it', { timeout: 240_000 }, async () => {
    // Entries as the File and Directory Entries API shapes them; readEntries yields one at a time.
    const fake = `() => {
      const file = (name, text) => ({ name, isFile: true, isDirectory: false, file: (ok) => ok(new Blob([text])) });
      const dir = (name, children) => ({ name, isFile: false, isDirectory: true, createReader() {
        let i = 0;
        return { readEntries: (ok) => setTimeout(() => ok(children.slice(i, ++i)), 0) };
      } });
      return dir('proj', [
        file('README', 'not part of the build'),
        dir('svc', [
          file('Dockerfile', ${JSON.stringify(DOCKERFILE)}),
          dir('src', [file('main.lua', ${JSON.stringify(MAIN)}), dir('data', [file('msg.txt', 'from nested batches\\n')])]),
        ]),
      ]);
    }`;
    await dropEntry(page, fake);
    expect(await text(page)).toContain('context proj: 4 files; type build -t NAME . to build it');
    const missing = await sh(page, 'build -t dropped:2 nope');
    expect(missing.status).not.toBe(0);
    expect(missing.out).toContain('no folder nope in the dropped folder proj');
    // A wrong PATH keeps the folder: the next build still uses it without asking.
    const r = await sh(page, 'build --platform wasi/wasm -t dropped:2 svc');
    expect(r.out).toContain('naming to docker.io/library/dropped:2 done');
    expect(r.status).toBe(0);
    const ran = await sh(page, 'run --rm dropped:2');
    expect(ran.out).toContain('lua says: from nested batches');
    expect(ran.status).toBe(0);
    expect(errors).toEqual([]);
  });
});
