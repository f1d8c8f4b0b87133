/**
 * Chromium, the built site served by `vite preview` (which mounts the registry proxy), and the
 * real docker-registry on loopback: the terminal pulls through the proxy (images it has a bundle
 * of, and images whose layers it must fetch), runs what it pulled,
 * pushes, and logs in with the login kept in the page's IndexedDB; a registry reached without
 * the proxy fails with the CORS error text, not "Failed to fetch".
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, sh, watchConsole, type Browser, type Page, type Site } from '../web/harness.ts';
import { DIST, helloVariantLayout } from './fixtures.ts';
import { skopeoCopy, skopeoInspect, startRegistry, startTokenServer, type Running, type TokenServer } from './servers.ts';

const HELLO_DIGEST = 'sha256:74b06934ada51674219d2c2a4857ce7da179894a02437c8919610749b708bb64';
let site: Site;
let browser: Browser;
let reg: Running;
let tok: TokenServer;
let authReg: Running;
let page: Page;
let errors: string[];
let variant: ReturnType<typeof helloVariantLayout>;
let componentVariant: ReturnType<typeof helloVariantLayout>;

beforeAll(async () => {
  reg = await startRegistry();
  skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/seed/hello:latest`);
  // Images the page has no bundle of: their pulls fetch a layer through the proxy.
  variant = helloVariantLayout('browser');
  skopeoCopy(`oci:${variant.dir}:latest`, `docker://${reg.host}/seed/variant:latest`);
  componentVariant = helloVariantLayout('component');
  skopeoCopy(`oci:${componentVariant.dir}:latest`, `docker://${reg.host}/seed/component:latest`);
  tok = await startTokenServer();
  tok.users.set('alice', 'alice-secret');
  authReg = await startRegistry({ token: { realm: tok.realm, service: tok.service, issuer: tok.issuer, certFile: tok.certFile } });
  site = await serveSite();
  browser = await launch();
  page = await browser.newPage();
  errors = watchConsole(page);
  await page.goto(site.url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''), null, { timeout: 120_000 });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await removeBuild();
  await reg?.stop();
  await authReg?.stop();
  await tok?.stop();
});

describe('registries from the terminal page (chromium)', () => {
  it('pulls through the preview server\'s proxy and runs the image; pushes back', async () => {
    const pull = await sh(page, `pull ${reg.host}/seed/hello`);
    // Every line before the prompt, in order: events crossing from the worker are waited for.
    // (The page seeded the bundled hello-wasm: same manifest, so no layer is fetched, only tagged.)
    expect(pull.out, pull.out).toMatch(new RegExp(`Pulling from seed/hello\nDigest: ${HELLO_DIGEST}\nStatus: Downloaded newer image for ${reg.host.replace(/\./g, '\\.')}/seed/hello:latest\n${reg.host.replace(/\./g, '\\.')}/seed/hello:latest\n`));
    expect(pull.status).toBe(0);
    const run = await sh(page, `run --rm ${reg.host}/seed/hello`);
    expect(run.out).toContain('GREETING=hello from skiff');
    expect(run.status).toBe(0);
    expect((await sh(page, `tag ${reg.host}/seed/hello ${reg.host}/from/browser:1`)).status).toBe(0);
    const push = await sh(page, `push ${reg.host}/from/browser:1`);
    expect(push.out).toContain(`1: digest: ${HELLO_DIGEST} size: 456`);
    expect(JSON.parse(skopeoInspect(`${reg.host}/from/browser:1`)).Digest).toBe(HELLO_DIGEST);
    // An image the page has nothing of: its layer comes through the proxy, is checked, and runs.
    const fresh = await sh(page, `pull ${reg.host}/seed/variant`);
    expect(fresh.status).toBe(0);
    expect(fresh.out).toContain(`${variant.layer.slice(7, 19)}: Pull complete\n`);
    expect(fresh.out).toContain(`Status: Downloaded newer image for ${reg.host}/seed/variant:latest\n`);
    const ran = await sh(page, `run --rm ${reg.host}/seed/variant`);
    expect(ran.out).toContain('argv[1]=browser');
    expect(ran.status).toBe(0);
    expect(errors).toEqual([]);
  }, 180_000);

  it('<skiff-run registry-proxy> pulls the image it runs', async () => {
    // A page of its own: the page's first element opens the shared engine (and says whether it pulls).
    await writeFile(join(site.outDir, 'registry-component.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./skiff-run.js"></script><body></body>');
    const comp = await browser.newPage();
    const compErrors = watchConsole(comp);
    await comp.goto(`${site.url}registry-component.html`);
    await comp.waitForFunction(() => customElements.get('skiff-run') !== undefined);
    const r = await comp.evaluate((image) => new Promise<unknown>((resolve) => {
      const el = document.createElement('skiff-run');
      el.setAttribute('image', image);
      el.setAttribute('registry-proxy', '/registry-proxy/');
      el.addEventListener('skiff-error', (e) => resolve({ error: (e as CustomEvent).detail }));
      el.addEventListener('skiff-exit', (e) => resolve({ exit: (e as CustomEvent).detail.exitCode, output: (el as unknown as { output: string }).output }));
      document.body.append(el);
      void (el as unknown as { run(): Promise<unknown> }).run();
    }), `${reg.host}/seed/component`);
    expect(r).toMatchObject({ exit: 0, output: expect.stringContaining('argv[1]=component') });
    expect(compErrors).toEqual([]);
    await comp.close();
  }, 120_000);

  it('login keeps the credentials in the origin\'s IndexedDB (never localStorage); push uses them; logout removes them', async () => {
    expect((await sh(page, `tag skiff/hello-wasm ${authReg.host}/alice/app:1`)).status).toBe(0);
    const denied = await sh(page, `push ${authReg.host}/alice/app:1`);
    expect(denied.status).not.toBe(0);
    const login = await sh(page, `login -u alice -p alice-secret ${authReg.host}`);
    expect(login.out).toContain('Login Succeeded');
    const pushed = await sh(page, `push ${authReg.host}/alice/app:1`);
    expect(pushed.out).toContain(`1: digest: ${HELLO_DIGEST} size: 456`);
    expect(pushed.out).not.toContain('alice-secret');
    const stored = () => page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.endsWith('-registry'));
      const rows: unknown[] = [];
      for (const name of names) {
        const db = await new Promise<IDBDatabase>((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
        rows.push(...await new Promise<unknown[]>((res, rej) => { const r = db.transaction('auths').objectStore('auths').getAll(); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }));
        db.close();
      }
      return { rows, localStorage: localStorage.length };
    });
    expect(await stored()).toEqual({ rows: [{ username: 'alice', password: 'alice-secret' }], localStorage: 0 });
    expect((await sh(page, `logout ${authReg.host}`)).out).toContain(`Removing login credentials for ${authReg.host}`);
    expect(await stored()).toEqual({ rows: [], localStorage: 0 });
  }, 120_000);

  it('without the proxy, a registry without CORS headers is one clear error', async () => {
    // The page's own fetch to the registry, as an engine without a proxy would make it.
    const message = await page.evaluate(async (host) => {
      try {
        await fetch(`http://${host}/v2/`);
        return 'fetched';
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    }, reg.host);
    expect(message).toBe('TypeError: Failed to fetch');
    const { unreachable } = await import('../../src/registry/client.ts');
    expect(unreachable(reg.host, new TypeError('Failed to fetch')).message).toMatch(new RegExp(`cannot reach registry ${reg.host.replace(/\./g, '\\.')} from this page: the browser blocked the request`));
  });
});
