/**
 * Chromium, the built site served by `vite preview` (which mounts the registry proxy), and the
 * real docker-registry on loopback: the terminal pulls through the proxy, runs what it pulled,
 * pushes, and logs in with the login kept in the page's IndexedDB; a registry reached without
 * the proxy fails with the CORS error text, not "Failed to fetch".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, removeBuild, serveSite, sh, watchConsole, type Browser, type Page, type Site } from '../web/harness.ts';
import { DIST } from './fixtures.ts';
import { skopeoCopy, skopeoInspect, startRegistry, type Running } from './servers.ts';

const HELLO_DIGEST = 'sha256:74b06934ada51674219d2c2a4857ce7da179894a02437c8919610749b708bb64';
let site: Site;
let browser: Browser;
let reg: Running;
let page: Page;
let errors: string[];

beforeAll(async () => {
  reg = await startRegistry();
  skopeoCopy(`oci-archive:${DIST}/hello-wasm.tar`, `docker://${reg.host}/seed/hello:latest`);
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
});

describe('registries from the terminal page (chromium)', () => {
  it('pulls through the preview server\'s proxy and runs the image; pushes back', async () => {
    const pull = await sh(page, `pull ${reg.host}/seed/hello`);
    expect(pull.out).toContain(`Digest: ${HELLO_DIGEST}`);
    expect(pull.out).toContain(`Status: Downloaded newer image for ${reg.host}/seed/hello:latest`);
    expect(pull.status).toBe(0);
    const run = await sh(page, `run --rm ${reg.host}/seed/hello`);
    expect(run.out).toContain('GREETING=hello from skiff');
    expect(run.status).toBe(0);
    expect((await sh(page, `tag ${reg.host}/seed/hello ${reg.host}/from/browser:1`)).status).toBe(0);
    const push = await sh(page, `push ${reg.host}/from/browser:1`);
    expect(push.out).toContain(`1: digest: ${HELLO_DIGEST} size: 456`);
    expect(JSON.parse(skopeoInspect(`${reg.host}/from/browser:1`)).Digest).toBe(HELLO_DIGEST);
    expect(errors).toEqual([]);
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
