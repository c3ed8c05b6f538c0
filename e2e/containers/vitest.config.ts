import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:containers` only: builds images and runs docker-compose (minutes, needs Docker),
// so it is outside e2e/vitest.config.ts's include and never part of `npm test`.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
    fileParallelism: false,
    // a cold image build is a few minutes on 2 cores; every command inside has its own timeout
    hookTimeout: 600_000,
    testTimeout: 300_000,
    // shows the build and compose steps as they happen
    disableConsoleIntercept: true,
  },
});
