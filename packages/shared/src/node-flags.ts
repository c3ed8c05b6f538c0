/**
 * The V8 flags each service starts with. V8 does not read them from NODE_OPTIONS, so every
 * launcher passes them on the command line: `npm start` (scripts/start.mjs), the root and
 * apps' `start` scripts, the Dockerfile's commands, docker-compose.yml, and the tests' cluster
 * harness (tools/deploy-check verifies the static ones).
 *
 * The worker: `--initial-old-space-size=128` (MB), where V8 first collects the old
 * generation. Without it, V8 sizes that limit from the worker's small live heap (about 20 MB),
 * about twice that, and while a batch file's chunks stream through (1 MB buffers in and out)
 * it ran a full mark-compact every 60–100 ms, of a heap that held nothing new. A warm
 * 200,000-row `.npy` batch: the worker's CPU 442–448 → 336–340 ms, 409–463 k → 513–514 k rows/s
 * (BENCHMARKS.md, round 10). It reserves no memory. Single-row jobs are unchanged.
 *
 * The API: none. The same flag halved its CPU on an `.npy` upload too, but cost 15–20 % more
 * CPU a single-row job: its heap there fills with promoted per-job records (the waiters'
 * recent events, BullMQ's job objects), and with a 128 MB limit each young-generation
 * collection took 12 ms instead of 4, as the old generation they must be checked against grew.
 */
export const SERVICE_NODE_FLAGS: Readonly<Record<'api' | 'worker', readonly string[]>> = {
  api: [],
  worker: ['--initial-old-space-size=128'],
};
