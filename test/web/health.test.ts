/**
 * Healthchecks in the page: the built site in chromium runs a busybox container with
 * --health-cmd from its terminal; the page's engine worker (which owns the container) probes it
 * as execs in the guest, so `ps` shows it become healthy, then unhealthy once the probe fails,
 * `inspect` reads the probe log, `ps --filter health=` selects by it, and the Engine's own API
 * (the worker's, over comlink) reports the same State.Health.
 */
import { describe, expect, it } from 'vitest';
import { sh, watchConsole, type Page, type PageHandle } from './harness.ts';
import { useBuiltSite } from './suite.ts';

const suite = useBuiltSite();

async function ready(p: Page): Promise<void> {
  await p.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-state') === 'ready', null, { timeout: 90_000 });
  await p.evaluate(() => (globalThis as unknown as { skiffPage: PageHandle }).skiffPage.idle());
}

/** Runs `line` in the page's terminal until its output matches `re` (probes run on their own clock). */
async function until(page: Page, line: string, re: RegExp, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  let out = '';
  while (Date.now() < end) {
    out = (await sh(page, line)).out;
    if (re.test(out)) return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`"${line}" never printed ${re} in ${timeoutMs} ms; last:\n${out}`);
}

describe('healthchecks in the page (chromium)', () => {
  it('a --health-cmd container becomes healthy, then unhealthy when the probe fails; ps, inspect and the API show it', { timeout: 420_000 }, async () => {
    const page = await (await suite.browser.newContext()).newPage();
    const errors = watchConsole(page);
    await page.goto(suite.site.url);
    await ready(page);
    const run = await sh(page, `run -d --name hc --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 2 skiff/busybox sh -c 'touch /tmp/ok; exec sleep 1000'`);
    expect(run.status, run.out).toBe(0);
    // Before the first probe has answered: "health: starting" (or already healthy on a fast machine).
    expect((await sh(page, 'ps')).out).toMatch(/Up .*\((health: starting|healthy)\).*hc/);
    const healthy = await until(page, `ps --format '{{.Names}} {{.Status}}'`, /^hc Up .* \(healthy\)$/m, 180_000);
    expect(healthy).toMatch(/^hc Up/m);
    expect((await sh(page, 'ps --filter health=healthy -q')).out).toMatch(/\n[0-9a-f]{12}\n/);
    const log = await sh(page, `inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}' hc`);
    expect(log.out).toMatch(/\nhealthy 0 0\n/);

    // The probe starts failing: after --health-retries failures in a row, unhealthy.
    expect((await sh(page, 'exec hc rm /tmp/ok')).status).toBe(0);
    await until(page, `ps --format '{{.Names}} {{.Status}}'`, /^hc Up .* \(unhealthy\)$/m, 180_000);
    expect((await sh(page, 'ps --filter health=unhealthy --format {{.Names}}')).out).toMatch(/\nhc\n/);
    expect((await sh(page, 'ps --filter health=healthy -q')).out).not.toMatch(/[0-9a-f]{12}/);
    // The page's Engine API (the worker's engine, over comlink) holds the same record.
    const health = await page.evaluate(async () => {
      type Health = { Status: string; FailingStreak: number; Log: { ExitCode: number }[] };
      type Client = { api: { engine: { inspectContainer(o: { id: string }): Promise<{ health?: Health }> } } };
      const rec = await (globalThis as unknown as { skiffPage: { client: Client } }).skiffPage.client.api.engine.inspectContainer({ id: 'hc' });
      return rec.health;
    });
    expect(health?.Status).toBe('unhealthy');
    expect(health!.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(health!.Log.at(-1)!.ExitCode).toBe(1);

    // It recovers when the probe passes again.
    expect((await sh(page, 'exec hc touch /tmp/ok')).status).toBe(0);
    await until(page, `ps --format '{{.Names}} {{.Status}}'`, /^hc Up .* \(healthy\)$/m, 180_000);
    expect((await sh(page, 'rm -f hc')).status).toBe(0);
    expect(errors).toEqual([]);
  });
});
