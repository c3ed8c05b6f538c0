import { defineConfig } from 'vitest/config';

// Unit tests of the pure parts live next to the code. The SDK's tests against a real cluster
// are in e2e/test/client.test.ts (e2e depends on this package, not the other way round).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
