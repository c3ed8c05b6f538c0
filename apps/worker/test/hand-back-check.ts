/**
 * The hand-back's checks, shared by the single-Redis (stale-marker.int.test.ts) and the Redis
 * Cluster (hand-back.cluster.int.test.ts) suites: a job fetched by `worker` is put back by
 * `handBack` as it was before its fetch (no `processedOn`, no holder, its attempts started as
 * before, no lock), its queue marked; a call under another's token leaves it alone; taken
 * again, it counts one attempt started, as a first fetch does.
 */
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { PREFIX } from '@maas/shared';

export async function expectHandedBack(redis: Redis, queue: Queue, worker: Worker, holder: string, handBack: (id: string, token: string) => Promise<void>): Promise<void> {
  const key = (k: string) => `${PREFIX}:${queue.name}:${k}`;
  await queue.add('chunk', { rows: 8192 }, { jobId: 'c1', priority: 1000 });
  const job = (await worker.getNextJob('t1'))!;
  expect(job.id).toBe('c1');
  expect(await redis.hmget(key('c1'), 'processedOn', 'pb', 'ats')).toEqual([expect.any(String), holder, '1']);
  await redis.del(key('marker'));

  await expect(handBack('c1', 'other-token')).rejects.toThrow(); // not its lock: left alone
  expect(await redis.hget(key('c1'), 'processedOn')).not.toBeNull();

  await handBack('c1', 't1');
  expect(await queue.getJobState('c1')).toBe('prioritized');
  expect(await redis.hmget(key('c1'), 'processedOn', 'pb', 'ats', 'stc')).toEqual([null, null, '0', null]);
  expect(await redis.exists(key('c1:lock'))).toBe(0);
  expect(await redis.zcard(key('marker'))).toBe(1); // a waiting worker wakes for it
  expect((await worker.getNextJob('t2'))!.id).toBe('c1');
  expect(await redis.hget(key('c1'), 'ats')).toBe('1');
}
