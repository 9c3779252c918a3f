import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // examples/ import the package by its name; in the repository that is the sources, not a build in dist/.
  resolve: {
    alias: [
      { find: /^heygen-relay$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) },
      { find: /^heygen-relay\/events$/, replacement: fileURLToPath(new URL('./events.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['./test/support/log-capture.ts'],
    globalSetup: ['./test/support/moto-global-setup.ts', './test/support/log-capture.ts'],
    // The AWS SDK warns once per process, on Node < 22, that its releases after January 2027 need
    // Node 22 (README, "Node versions"); on the 2-core CI that is one warning per test worker.
    env: { CDK_VALIDATION: 'false', POWERTOOLS_DEV: 'false', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
