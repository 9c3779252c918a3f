import { defineConfig } from 'vitest/config';

export default defineConfig({
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
