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

/** A BullMQ inference job as the API packs them: `/v1/jobs` of one turn may be members of one carrier job. */
interface HeldJob {
  id?: string | undefined;
  data: { rows: number; members?: { id: string }[] };
}

/** The public job ids a BullMQ job holds: its members' (a carrier), else its own. */
export const publicIds = (job: HeldJob): string[] => job.data.members?.map((m) => m.id) ?? [job.id!];

/** Rows held by BullMQ jobs (a carrier holds the rows of all its members). */
export const heldRows = (jobs: HeldJob[]): number => jobs.reduce((n, j) => n + j.data.rows, 0);
