/**
 * A job handed back unstarted (liveness/lost-fetches.ts `handBack`: a lost fetch's, a batch chunk
 * past a worker's row budget, a chunk a stopping worker had not started) goes back to its queue
 * as it was before its fetch, on a real redis-server and BullMQ: no `processedOn` (read as "a
 * worker took it before" by expiry and the queued-rows tally), no holder, its attempts started
 * as before, its queue marked for waiting workers; a job whose lock is another's is left alone.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { handBack, type LostFetchBackend } from '../src/liveness/lost-fetches.js';

let server: RedisServer;
let redis: Redis;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  redis?.disconnect();
  await server?.stop();
});

describe('handBack', () => {
  it('puts a fetched job back as it was before its fetch, and marks its queue', async () => {
    const name = '{hand-back-1}';
    const queue = new Queue(name, { connection: redis, prefix: PREFIX });
    const worker = new Worker(name, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, lockDuration: 60_000, name: 'wrk_a' });
    closers.push(() => queue.close(), () => worker.close(true));
    const key = (k: string) => `${PREFIX}:${name}:${k}`;
    const backend = (worker as unknown as { backend: LostFetchBackend }).backend;

    await queue.add('chunk', { rows: 8192 }, { jobId: 'c1', priority: 1000 });
    const job = (await worker.getNextJob('t1'))!;
    expect(job.id).toBe('c1');
    expect(await redis.hmget(key('c1'), 'processedOn', 'pb', 'ats')).toEqual([expect.any(String), 'wrk_a', '1']);
    await redis.del(key('marker'));

    await expect(handBack(backend, 'c1', 'other-token')).rejects.toThrow(); // not its lock: left alone
    expect(await redis.hget(key('c1'), 'processedOn')).not.toBeNull();

    await handBack(backend, 'c1', 't1');
    expect(await queue.getJobState('c1')).toBe('prioritized');
    expect(await redis.hmget(key('c1'), 'processedOn', 'pb', 'ats', 'stc')).toEqual([null, null, '0', null]);
    expect(await redis.exists(key('c1:lock'))).toBe(0);
    expect(await redis.zcard(key('marker'))).toBe(1); // a waiting worker wakes for it
    // taken again, it counts one attempt started, as a first fetch does
    expect((await worker.getNextJob('t2'))!.id).toBe('c1');
    expect(await redis.hget(key('c1'), 'ats')).toBe('1');
  });
});
