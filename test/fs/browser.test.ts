/**
 * The filesystem in a real browser: src/fs bundled with esbuild (no Node APIs allowed) and run in
 * headless Chromium. The same scenario runs in Node; both must produce the same merged view, diff
 * and restored upper.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium } from '../helpers/browser.ts';
import { scenario } from './browser-scenario.ts';

const ENTRY = `
import { scenario } from './test/fs/browser-scenario.ts';
globalThis.skiffFsCheck = () => scenario();
`;

let browser: Browser;
let bundle: string;
beforeAll(async () => {
  bundle = await bundleForBrowser({ source: ENTRY });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('fs in the browser (Chromium)', () => {
  it('bundles without node: imports', () => {
    expect(bundle).not.toMatch(/from\s*["']node:/);
  });

  it('runs layers, overlay, diff and restore exactly as in Node', async () => {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><title>skiff fs</title>');
    await page.addScriptTag({ content: bundle, type: 'module' });
    await page.waitForFunction(() => 'skiffFsCheck' in globalThis);
    const inBrowser = await page.evaluate(() => (globalThis as unknown as { skiffFsCheck(): ReturnType<typeof scenario> }).skiffFsCheck());
    const inNode = scenario();
    expect(inBrowser.merged).toEqual(inNode.merged);
    expect(inBrowser.diff).toEqual(inNode.diff);
    expect(inBrowser.restored).toEqual(inNode.merged);
    expect(inBrowser.layered).toEqual(inNode.merged);
    expect(inBrowser.sharedBytes).toBe(true);
    expect(inBrowser.ownedAfterWrite).toBeLessThanOrEqual(64 * 1024);
    expect(inBrowser.entriesPerSecond).toBeGreaterThan(50_000);
    console.log(`applyLayer in Chromium: ${Math.round(inBrowser.entriesPerSecond)} entries/s; in Node: ${Math.round(inNode.entriesPerSecond)} entries/s`);
    await page.close();
  });
});
