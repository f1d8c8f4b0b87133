import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.slow.test.ts'],
    testTimeout: 900_000,
    pool: 'forks',
    // The Debian peers (skopeo, umoci, chromium, crun, ...): present, installed, or one message naming the command.
    globalSetup: ['test/helpers/peers-setup.ts'],
    setupFiles: ['test/helpers/node-natives.ts'],
  },
});
