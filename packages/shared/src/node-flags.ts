/**
 * The V8 flags the API and worker processes start with. V8 does not read them from
 * NODE_OPTIONS, so every launcher passes them on the command line: `npm start`
 * (scripts/start.mjs), the root and apps' `start` scripts, the Dockerfile's commands,
 * docker-compose.yml, and the tests' cluster harness (deploy-check verifies the static ones).
 *
 * `--initial-old-space-size=128` (MB): where V8 first collects the old generation. Without
 * it, V8 sizes that limit from the small live heap of these processes (20–30 MB), about twice
 * that, and while buffers stream through (a batch file's chunks, result pieces) the young
 * generation's promotions reach it every 60–100 ms: a full mark-compact each time, of a heap
 * that holds nothing new. Measured on a 200,000-row `.npy` batch (BENCHMARKS.md, round 10):
 * the API's CPU 180–200 → 92–130 ms a round, the worker's 447 → 390–400 ms. It reserves no
 * memory; garbage may grow that far before the first full collection (the API's peak RSS in
 * the same runs: 180 → 207–212 MB).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
