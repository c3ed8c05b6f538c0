import { defineConfig } from 'vitest/config';

// 30 s, not vitest's 5 s: a test that imports the services' config modules from source compiles
// them first, which took over 5 s on a machine busy with other builds.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 30_000 } });
