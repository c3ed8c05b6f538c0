/** What is waiting to run in the inference queues, read straight from Redis (no BullMQ object). */
import type { Redis } from 'ioredis';

const WAITING = [':wait', ':prioritized', ':paused', ':delayed'];

/** Jobs (and batch chunks) waiting in every inference queue. */
export async function queuedInferenceJobs(redis: Redis): Promise<number> {
  let jobs = 0;
  for (const key of await redis.keys('maas:{infer-*}:*')) {
    if (!WAITING.some((s) => key.endsWith(s))) continue;
    jobs += (await redis.type(key)) === 'zset' ? await redis.zcard(key) : await redis.llen(key);
  }
  return jobs;
}

/** The batches Redis holds records of (any state, uploads in progress included). */
export async function storedBatches(redis: Redis): Promise<string[]> {
  return (await redis.keys('maas:{b-*}:meta')).map((k) => /\{b-(batch_[^}]+)\}/.exec(k)![1]!);
}
