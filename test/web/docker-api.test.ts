/**
 * The Docker Engine API in a page (built site, chromium): the engine client's fetch-compatible
 * `docker` function answers from the page's engine worker, and the service worker serves the same
 * API at /_skiff/docker/v1.43/... to same-origin code (asking the open page). A WebAssembly
 * container goes through create, start, wait, logs (Docker's framing) and inspect, as a
 * dockerode-style client would drive it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchConsole, type BrowserContext, type Page } from './harness.ts';
import { useBuiltSite } from './suite.ts';

const web = useBuiltSite();

describe('the Engine API in a page (chromium)', () => {
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ctx = await web.browser.newContext();
    page = await ctx.newPage();
    errors = watchConsole(page);
    await page.goto(web.site.url);
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 180_000 });
  }, 240_000);
  afterAll(async () => { await ctx?.close(); });

  it('client.docker: ping, create, start, wait, logs and inspect of a wasm container', async () => {
    const got = await page.evaluate(async () => {
      type Docker = (input: string, init?: RequestInit) => Promise<Response>;
      const docker = (globalThis as unknown as { skiffPage: { client: { docker: Docker } } }).skiffPage.client.docker;
      const json = { 'content-type': 'application/json' };
      const ping = await docker('/v1.43/_ping');
      const created = await docker('/v1.43/containers/create?name=pagewasm', { method: 'POST', headers: json, body: JSON.stringify({ Image: 'skiff/hello-wasm', Cmd: ['one', 'two'] }) });
      const { Id } = await created.json() as { Id: string };
      const start = await docker(`/v1.43/containers/${Id}/start`, { method: 'POST' });
      const wait = await (await docker(`/v1.43/containers/${Id}/wait`, { method: 'POST' })).json() as { StatusCode: number };
      const logs = new Uint8Array(await (await docker(`/v1.43/containers/${Id}/logs?stdout=1&stderr=1`)).arrayBuffer());
      const inspect = await (await docker('/v1.43/containers/pagewasm/json')).json() as { State: { Status: string }; Name: string };
      const missing = await docker('/v1.43/containers/nosuch/json');
      return {
        ping: [ping.status, await ping.text(), ping.headers.get('api-version')],
        created: created.status, Id, start: start.status, wait,
        firstFrame: [...logs.slice(0, 8)], text: new TextDecoder().decode(logs),
        inspect: [inspect.State.Status, inspect.Name],
        missing: [missing.status, await missing.json()],
      };
    });
    expect(got.ping).toEqual([200, 'OK', '1.43']);
    expect(got.created).toBe(201);
    expect(got.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(got.start).toBe(204);
    expect(got.wait.StatusCode).toBe(0);
    // Docker's stream framing: stdout (1), three zero bytes, the big-endian length.
    expect(got.firstFrame.slice(0, 4)).toEqual([1, 0, 0, 0]);
    expect(got.text).toContain('Hello from WebAssembly!');
    expect(got.inspect).toEqual(['exited', '/pagewasm']);
    expect(got.missing).toEqual([404, { message: 'No such container: nosuch' }]);
  }, 180_000);

  it('the service worker serves /_skiff/docker/v1.43/... to same-origin fetches', async () => {
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    const got = await page.evaluate(async () => {
      const base = new URL('_skiff/docker/v1.43/', location.href).href;
      const version = await (await fetch(`${base}version`)).json() as { ApiVersion: string; Os: string };
      const list = await (await fetch(`${base}containers/json?all=1`)).json() as Array<{ Names: string[]; State: string }>;
      const unimpl = await fetch(`${base}swarm/init`, { method: 'POST', body: '{}' });
      const rm = await fetch(`${base}containers/pagewasm`, { method: 'DELETE' });
      return { version: [version.ApiVersion, version.Os], list: list.map((c) => `${c.Names[0]} ${c.State}`), unimpl: [unimpl.status, (await unimpl.json() as { message: string }).message], rm: rm.status };
    });
    expect(got.version).toEqual(['1.43', 'linux']);
    expect(got.list).toContain('/pagewasm exited');
    expect(got.unimpl).toEqual([501, 'skiff does not implement POST /swarm/init']);
    expect(got.rm).toBe(204);
    // Chromium logs the deliberate 501 as a failed resource load; nothing else may appear.
    expect(errors.filter((e) => !e.includes('status of 501'))).toEqual([]);
  }, 120_000);
});
