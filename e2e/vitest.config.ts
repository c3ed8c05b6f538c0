import { defineConfig } from 'vitest/config';

// End-to-end suites start real processes and a redis-server each: run files one at a time
// (2 cores), with time for model loading and lock expiry.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // In CI only, a failed end-to-end test runs once more before the run fails: these tests
    // time real processes (lock expiry, batch windows, retries) on a shared 2-core machine.
    // vitest reports every retry, so a flaky test still shows; a broken one fails both times.
    retry: process.env.CI ? 1 : 0,
  },
});
