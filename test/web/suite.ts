/**
 * The usual setup of a chromium test file: before all, the built site served and chromium
 * launched; after all, both closed and the build removed. Kept apart from harness.ts, which the
 * benches import outside vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { launch, removeBuild, serveSite, type Browser, type Site } from './harness.ts';

export interface WebSuite {
  /** Set once beforeAll has run. */
  readonly site: Site;
  readonly browser: Browser;
}

export interface WebSuiteHooks {
  /** More setup run alongside the site's build (fixtures, temp dirs). */
  setup?: () => Promise<void>;
  /** Run after the browser, the site and the build are gone. */
  cleanup?: () => Promise<void>;
}

export function useBuiltSite(hooks: WebSuiteHooks = {}): WebSuite {
  const suite = {} as { site: Site; browser: Browser };
  beforeAll(async () => {
    [suite.site] = await Promise.all([serveSite(), hooks.setup?.()]);
    suite.browser = await launch();
  }, 240_000);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.site?.close();
    await removeBuild();
    await hooks.cleanup?.();
  });
  return suite;
}
