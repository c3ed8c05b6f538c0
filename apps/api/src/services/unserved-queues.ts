/**
 * Model queues of versions the catalog no longer names (retired under a version policy,
 * unloaded, or their folder removed) that still hold jobs: a retiring version's worker still
 * runs what is left, and jobs of a version no worker can open any more wait until their
 * `timeout_ms`. `/metrics` reports their depth and the queue board shows them, so neither goes
 * unseen. The queues are those in QUEUE_NAMES_KEY (every API adds the queues it made, each
 * retention sweep) and those this process made; read without a Queue object (queueJobCounts).
 */
import type { Redis } from 'ioredis';
import { QUEUE_NAMES_KEY, queueJobCounts, versionOfQueue, type QueueJobCounts } from '@maas/shared';
import type { QueueRegistry } from './queues.js';

export interface UnservedQueue {
  name: string;
  model: string;
  version: number;
  counts: QueueJobCounts;
}

/** The model queues not in `served` (queue names) that hold any job, by name. */
export async function unservedQueues(redis: Redis, queues: QueueRegistry, served: ReadonlySet<string>): Promise<UnservedQueue[]> {
  const names = new Set([...(await redis.smembers(QUEUE_NAMES_KEY)), ...queues.all().map((q) => q.name)]);
  const found: UnservedQueue[] = [];
  for (const name of [...names].sort()) {
    const version = served.has(name) ? undefined : versionOfQueue(name);
    if (!version) continue;
    const counts = await queueJobCounts(redis, name);
    if (Object.values(counts).some((n) => n > 0)) found.push({ name, ...version, counts });
  }
  return found;
}
