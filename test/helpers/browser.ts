/**
 * Running our sources in the real Chromium (/usr/bin/chromium, Debian's): esbuild bundles an entry
 * for the browser, playwright-core drives the browser. Node-only imports left in a bundle show up
 * as `node:` imports, which the tests assert are absent.
 */
import { build, type BuildOptions } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { requireTool } from './peers.ts';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface BundleOptions {
  /** Module source (TypeScript, imports relative to the repository root) ... */
  source?: string;
  /** ... or a file to bundle. */
  entryPoint?: string;
  /** Left unbundled (e.g. `node:*` for code with a Node branch it never takes in the browser). */
  external?: string[];
}

/** One ESM bundle for the browser, as text. */
export async function bundleForBrowser(o: BundleOptions): Promise<string> {
  const common: BuildOptions = { bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', external: o.external };
  const input: BuildOptions = o.source !== undefined
    ? { stdin: { contents: o.source, resolveDir: process.cwd(), loader: 'ts', sourcefile: 'entry.ts' } }
    : { entryPoints: [o.entryPoint!] };
  const out = await build({ ...common, ...input });
  return out.outputFiles![0]!.text;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: requireTool(CHROMIUM, 'chromium'), args: ARGS });
}
