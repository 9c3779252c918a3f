import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['./test/support/moto-global-setup.ts'],
    env: { CDK_VALIDATION: 'false', POWERTOOLS_DEV: 'false' },
  },
});
