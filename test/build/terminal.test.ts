/**
 * `build` in the page's terminal (built site, chromium): a two-stage Dockerfile from files the
 * user picks, built in the engine worker, and the image run there.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sh, watchConsole } from '../web/harness.ts';
import { useBuiltSite } from '../web/suite.ts';

let dir: string;

const web = useBuiltSite({
  setup: async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-tab-build-'));
  },
  cleanup: async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  },
});

describe('build in the browser terminal', () => {
  it('builds a two-stage Dockerfile from picked files and runs the result', { timeout: 240_000 }, async () => {
    const ctx = await web.browser.newContext();
    const page = await ctx.newPage();
    const errors = watchConsole(page);
    await page.goto(web.site.url);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 90_000 });
    const dockerfile = join(dir, 'Dockerfile');
    const note = join(dir, 'note.txt');
    await writeFile(dockerfile, 'FROM skiff/hello-wasm AS src\nFROM scratch\nCOPY --from=src /hello.wasm /app.wasm\nCOPY note.txt /\nENV GREETING="built in a tab"\nENTRYPOINT ["/app.wasm"]\n');
    await writeFile(note, 'note\n');
    const chooser = page.waitForEvent('filechooser');
    const build = sh(page, 'build --platform wasi/wasm -t tabbuild:1 .');
    await (await chooser).setFiles([dockerfile, note]);
    const r = await build;
    expect(r.status).toBe(0);
    // FROM scratch is no step of its own (BuildKit numbers only the filesystem steps then).
    expect(r.out).toMatch(/\[stage-1 1\/2\] COPY --from=src \/hello.wasm \/app.wasm/);
    expect(r.out).toContain('naming to docker.io/library/tabbuild:1 done');
    const ran = await sh(page, 'run --rm tabbuild:1');
    expect(ran.status).toBe(0);
    expect(ran.out).toContain('Hello from WebAssembly!');
    expect(ran.out).toContain('GREETING=built in a tab');
    // -f names a file of the picked context.
    const other = join(dir, 'other.Dockerfile');
    await writeFile(other, 'FROM skiff/hello-wasm\nLABEL picked=yes\n');
    const chooser2 = page.waitForEvent('filechooser');
    const build2 = sh(page, 'build -q -f other.Dockerfile -t tabbuild:2 .');
    await (await chooser2).setFiles([other]);
    const r2 = await build2;
    expect(r2.status).toBe(0);
    expect((await sh(page, 'inspect -f {{.Config.Labels.picked}} tabbuild:2')).out).toContain('yes');
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
