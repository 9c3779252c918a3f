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
    env: { CDK_VALIDATION: 'false', POWERTOOLS_DEV: 'false' },
  },
});
