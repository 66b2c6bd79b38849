import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration suites start real broker processes and real clients; run files one at a time
    // so two suites never fight over the machine's two cores and skew each other's timeouts.
    fileParallelism: false,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
