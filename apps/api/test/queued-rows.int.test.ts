/** QueuedRowsQuota on a real redis-server and BullMQ: no overshoot under concurrency, rows freed when jobs run or vanish. */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchKeys, chunkJobId, createLogger, PREFIX, QuotaExceededError, startRedisServer, type RedisServer } from '@maas/shared';
import { QueuedRowsQuota } from '../src/quotas/queued-rows.js';

let server: RedisServer;
let redis: Redis;
let queue: Queue;
const log = createLogger('test', 'silent');

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  queue = new Queue('{queued-rows-test}', { connection: redis, prefix: PREFIX });
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

const quotaOf = (limit: number) => new QueuedRowsQuota(redis, () => limit, log);

describe('QueuedRowsQuota', () => {
  it('never lets concurrent requests pass the limit', async () => {
    const quota = quotaOf(5);
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => quota.reserve('t1', { queue: queue.name, jobId: `j${i}`, rows: 1 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => r.reason instanceof QuotaExceededError)).toBe(true);
    expect(refused[0]!.reason.headers['Retry-After']).toMatch(/^\d+$/);
    expect(await quota.queued('t1')).toBe(5);
    expect(await quota.queued('t2')).toBe(0);
  });

  it('lets a tenant with nothing queued queue one job larger than its quota, not a batch chunk', async () => {
    const quota = quotaOf(3);
    await expect(quota.reserve('big', { queue: queue.name, jobId: chunkJobId('batch_big', 0), rows: 10 })).rejects.toMatchObject({ status: 413, message: expect.stringMatching(/next 10 rows pass it alone: send the batch in parts of at most 3 rows/) });
    await quota.reserve('big', { queue: queue.name, jobId: 'huge', rows: 10, job: true });
    await expect(quota.reserve('big', { queue: queue.name, jobId: 'more', rows: 1, job: true })).rejects.toBeInstanceOf(QuotaExceededError);
  });

  it('releases once, and frees the rows of jobs that started or vanished', async () => {
    const quota = quotaOf(4);
    for (const id of ['a', 'b', 'c']) {
      await quota.reserve('t3', { queue: queue.name, jobId: id, rows: 1 });
      await queue.add('x', {}, { jobId: id });
    }
    await quota.release('t3', [{ queue: queue.name, jobId: 'c', rows: 0 }, { queue: queue.name, jobId: 'c', rows: 0 }]);
    expect(await quota.queued('t3')).toBe(2);
    // a worker takes a and b: their rows leave the tally at the next reconcile
    const taken = new Set<string>();
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const worker = new Worker(queue.name, async (job) => void taken.add(job.id!), { connection, prefix: PREFIX });
    while (taken.size < 3) await new Promise((r) => setTimeout(r, 20));
    await worker.close();
    connection.disconnect();
    await quota.reconcile('t3');
    expect(await quota.queued('t3')).toBe(0);
  });

  it('frees at once the rows of a batch chunk that ran and was removed (its outcome is with its batch), not after the enqueue grace', async () => {
    const quota = quotaOf(50);
    const jobId = chunkJobId('batch_ledger1', 0);
    await quota.reserve('t4', { queue: queue.name, jobId, rows: 40 });
    await quota.reserve('t4', { queue: queue.name, jobId: chunkJobId('batch_ledger1', 1), rows: 5 }); // still being enqueued: kept
    await redis.hset(batchKeys('batch_ledger1').chunks, '0', 's:40'); // ran; its job (removeOnComplete) is gone
    await quota.reconcile('t4');
    expect(await quota.queued('t4')).toBe(5);
  });

  it('frees the rows of a job the ledger ended while queued (canceled, expired), though it is still in the queue', async () => {
    const quota = quotaOf(50);
    await quota.reserve('t6', { queue: queue.name, jobId: 'e1', rows: 30 });
    await queue.add('x', {}, { jobId: 'e1' });
    await redis.hset(`${PREFIX}:${queue.name}:e1`, 'ended', 'failed:expired');
    await quota.reconcile('t6');
    expect(await quota.queued('t6')).toBe(0);
  });

  it('a refusal while a reconcile is under way waits for it, and reserves once it freed the rows', async () => {
    const other = quotaOf(50); // another API instance queued them
    for (const id of ['d1', 'd2']) {
      await other.reserve('t5', { queue: queue.name, jobId: id, rows: 20 });
      await queue.add('x', {}, { jobId: id });
      await redis.hset(`${PREFIX}:${queue.name}:${id}`, 'processedOn', String(Date.now())); // started
    }
    // This instance's periodic reconcile is due (none yet for t5): the reservation starts it in
    // the background, is refused by the stale count (40 + 20 > 50), and must wait for it, not answer 429.
    const quota = quotaOf(50);
    await quota.reserve('t5', { queue: queue.name, jobId: 'd3', rows: 20 });
    expect(await quota.queued('t5')).toBe(20);
  });
});
