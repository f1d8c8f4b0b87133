import { defineConfig } from 'vitest/config';

// `npm test`: everything except the slow reproducibility checks (`npm run test:slow`), which
// rebuild artifacts from Debian packages: CI verifies the committed artifacts, it does not rebuild.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.browser.test.ts', 'test/**/*.slow.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The Debian peers (skopeo, umoci, chromium, crun, ...): present, installed, or one message naming the command.
    globalSetup: ['test/helpers/peers-setup.ts'],
    // Native gzip and SHA-256 as src/node.ts installs them (test/helpers/node-natives.ts).
    setupFiles: ['test/helpers/node-natives.ts'],
  },
});
