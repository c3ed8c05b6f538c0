import { defineConfig } from 'vitest/config';

// End-to-end suites start real processes and a redis-server each: run files one at a time
// (2 cores), with time for model loading and lock expiry.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
