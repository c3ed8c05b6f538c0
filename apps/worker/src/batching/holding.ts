/**
 * PURE: how much a worker's runner holds at once, fetched from its queue and not yet settled:
 * jobs (BullMQ's concurrency) and rows.
 */
import { chunkRows, type ModelVersion } from '@maas/shared';

/** Jobs fetched and held at once: enough to fill two runs per instance while one runs. */
export function defaultConcurrency(version: ModelVersion, instances: number): number {
  const perRun = Math.max(1, version.maxBatchSize);
  return Math.min(1024, Math.max(4, 2 * perRun * instances));
}

/**
 * Rows a worker holds at most before it stops fetching: a few full runs' worth, and two batch-file
 * chunks (one running, the next fetched). Without it a worker would take up to `concurrency`
 * jobs of any size, e.g. every chunk of a big batch, holding their inputs in memory and
 * leaving nothing for workers started later.
 */
export function rowBudget(version: ModelVersion, instances: number): number {
  return Math.max(4 * Math.max(1, version.maxBatchSize) * instances, 2 * chunkRows(version));
}
