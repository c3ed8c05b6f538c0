/**
 * Model queues of versions the catalog no longer names (retired under a version policy,
 * unloaded, or their folder removed) that still hold jobs: a retiring version's worker still
 * runs what is left, and jobs of a version no worker can open any more wait until their
 * `timeout_ms`. `/metrics` reports their depth and the queue board shows them, so neither goes
 * unseen. The queues are those in QUEUE_NAMES_KEY (every API adds the queues it made, each
 * retention sweep) and those this process made; read without a Queue object (queueJobCounts),
 * and shown by the board and the status page through the registry's read-only queues.
 */
import type { Redis } from 'ioredis';
import { inferenceQueueName, QUEUE_NAMES_KEY, queueJobCounts, versionOfQueue, type QueueJobCounts } from '@maas/shared';
import type { ModelCatalog } from './catalog.js';
import type { QueueRegistry } from './queues.js';

/** The queues of the versions `catalog` serves, by name. */
export const servedQueueNames = (catalog: ModelCatalog): Set<string> =>
  new Set(catalog.models.flatMap((m) => m.versions.map((v) => inferenceQueueName(v.model, v.version))));

export interface UnservedQueue {
  name: string;
  model: string;
  version: number;
  counts: QueueJobCounts;
}

/**
 * The model queues of versions `catalog` does not serve that hold unfinished jobs (waiting or
 * held; finished ones alone, kept for their retention, do not list a version), by name. Read
 * all at once: the known names grow with every version ever served.
 */
export async function unservedQueues(redis: Redis, queues: QueueRegistry, catalog: ModelCatalog): Promise<UnservedQueue[]> {
  const served = servedQueueNames(catalog);
  const names = new Set([...(await redis.smembers(QUEUE_NAMES_KEY)), ...queues.all().map((q) => q.name)]);
  const candidates = [...names].sort().flatMap((name) => {
    const version = served.has(name) ? undefined : versionOfQueue(name);
    return version ? [{ name, ...version }] : [];
  });
  const counts = await Promise.all(candidates.map((c) => queueJobCounts(redis, c.name)));
  return candidates
    .map((c, i) => ({ ...c, counts: counts[i]! }))
    .filter(({ counts: n }) => n.waiting + n.prioritized + n.delayed + n.active > 0);
}
