/**
 * RetentionSweeper on a real redis-server and BullMQ: in a queue that gets no more jobs,
 * finished jobs past the grace go (completed and failed, job hashes included), younger ones and
 * unfinished ones stay; a queue no registry here holds (a retired version) is swept by its name
 * in QUEUE_NAMES_KEY; a model queue only Redis knows (made by an older release) is adopted by the
 * first sweep, once; one API process sweeps a minute.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullJobKey, createLogger, PREFIX, QUEUE_NAMES_KEY, startRedisServer, type RedisServer } from '@maas/shared';
import { queueOfMetaKey, RetentionSweeper } from '../src/services/retention.js';
import { QueueRegistry } from '../src/services/queues.js';

let server: RedisServer;
let redis: Redis;
let queues: QueueRegistry;
const closers: (() => Promise<unknown>)[] = [];
const log = createLogger('test', 'silent');

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  queues = new QueueRegistry(redis);
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await queues?.close();
  redis?.disconnect();
  await server?.stop();
});

/** Finishes `n` jobs of `queue` by hand (as a worker would), completed or failed; their ids. */
async function finish(queue: Queue, n: number, how: 'completed' | 'failed', opts: Record<string, unknown> = {}): Promise<string[]> {
  const worker = new Worker(queue.name, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, lockDuration: 60_000 });
  closers.push(() => worker.close(true));
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    await queue.add('infer', { i }, { removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 }, ...opts });
    const job = (await worker.getNextJob(`t${i}`))!;
    if (how === 'completed') await job.moveToCompleted({ ok: i }, `t${i}`, false);
    else await job.moveToFailed(new Error('no'), `t${i}`, false);
    ids.push(job.id!);
  }
  return ids;
}

describe('RetentionSweeper', () => {
  it('removes the finished jobs of a quiet queue once past the grace, and nothing else', async () => {
    const queue = queues.byName('{retention-a}');
    const done = await finish(queue, 3, 'completed');
    const failed = await finish(queue, 2, 'failed');
    await queue.add('infer', { i: -1 } as never, { jobId: 'still-queued' });
    const sweeper = new RetentionSweeper(redis, queues, { jobMs: 60_000, batchMs: 60_000 }, log);
    const events = await redis.xlen(`${PREFIX}:{retention-a}:events`);
    expect(await sweeper.sweep(true)).toBe(0); // younger than the grace
    expect(await queue.getJobCounts('completed', 'failed')).toMatchObject({ completed: 3, failed: 2 });
    expect(await redis.xlen(`${PREFIX}:{retention-a}:events`)).toBe(events); // nothing due: BullMQ's clean (and its event) not called

    await new Promise((r) => setTimeout(r, 50));
    // Failed jobs are kept as long as a batch (a failed chunk is one), completed ones as a job.
    const jobsOnly = new RetentionSweeper(redis, queues, { jobMs: 10, batchMs: 60_000 }, log);
    expect(await jobsOnly.sweep(true)).toBe(3);
    expect(await queue.getJobCounts('completed', 'failed')).toMatchObject({ completed: 0, failed: 2 });
    const now = new RetentionSweeper(redis, queues, { jobMs: 10, batchMs: 10 }, log);
    expect(await now.sweep(true)).toBe(2);
    expect(await queue.getJobCounts('completed', 'failed', 'waiting')).toMatchObject({ completed: 0, failed: 0, waiting: 1 });
    for (const id of [...done, ...failed]) expect(await redis.exists(bullJobKey(queue.name, id))).toBe(0);
    // The events stream (which holds the jobs' outputs) keeps nothing older than the retention.
    const cut = Date.now() - 10 - 1_000; // the retention, and a second of clock difference with Redis
    const left = (await redis.xrange(`${PREFIX}:{retention-a}:events`, '-', '+')) as [string, string[]][];
    expect(left.filter(([id]) => Number(id.split('-')[0]) < cut)).toEqual([]);
    expect(left.some(([, fields]) => fields.includes('returnvalue'))).toBe(false);
    expect(await redis.exists(bullJobKey(queue.name, 'still-queued'))).toBe(1);
    expect(await redis.smembers(QUEUE_NAMES_KEY)).toEqual(expect.arrayContaining(['{retention-a}', '{webhooks}']));
    expect(jobsOnly.graceMs('{webhooks}', 'failed')).toBe(10); // deliveries: the job retention, failed or not
    expect(jobsOnly.graceMs('{infer-x-v1}', 'failed')).toBe(60_000);
    await Promise.all([sweeper.close(), jobsOnly.close(), now.close()]);
  });

  it('sweeps a queue only known by name (a retired version), and one process a minute', async () => {
    const retired = new Queue('{retention-retired}', { connection: redis, prefix: PREFIX });
    closers.push(() => retired.close());
    await finish(retired, 2, 'completed');
    await redis.sadd(QUEUE_NAMES_KEY, '{retention-retired}');
    await new Promise((r) => setTimeout(r, 50));
    const [ra1, rb1] = [new QueueRegistry(redis), new QueueRegistry(redis)];
    closers.push(() => ra1.close(), () => rb1.close());
    const a = new RetentionSweeper(redis, ra1, { jobMs: 10, batchMs: 10 }, log);
    const b = new RetentionSweeper(redis, rb1, { jobMs: 10, batchMs: 10 }, log);
    await redis.del(`${PREFIX}:retention:sweeping`);
    const [ra, rb] = await Promise.all([a.sweep(), b.sweep()]);
    expect([ra, rb].sort()).toEqual([0, 2]); // one of them swept; the other found the lock taken
    expect(await retired.getJobCounts('completed')).toMatchObject({ completed: 0 });
    await Promise.all([a.close(), b.close()]);
  });

  it('leaves a quiet queue with nothing due as it is (no meta, no events), and goes on past a queue it cannot clean', async () => {
    await redis.sadd(QUEUE_NAMES_KEY, '{retention-gone}', 'bad:name');
    await redis.zadd(`${PREFIX}:bad:name:completed`, 1, 'old'); // due, and BullMQ refuses the queue's name
    const registry = new QueueRegistry(redis);
    closers.push(() => registry.close());
    const sweeper = new RetentionSweeper(redis, registry, { jobMs: 10, batchMs: 10 }, log);
    for (let i = 0; i < 3; i++) await sweeper.sweep(true);
    expect(await redis.exists(`${PREFIX}:{retention-gone}:meta`, `${PREFIX}:{retention-gone}:events`)).toBe(0);
    await sweeper.close();
  });

  it("adopts the model queues only Redis knows (an older release's), once a deployment; never a batch's meta", async () => {
    const old = new Queue('{infer-older-v1}', { connection: redis, prefix: PREFIX });
    closers.push(() => old.close());
    await finish(old, 2, 'completed');
    await redis.hset(`${PREFIX}:{b-some-batch}:meta`, 'status', 'completed');
    await redis.del(`${PREFIX}:retention:adopted`);
    await redis.srem(QUEUE_NAMES_KEY, '{infer-older-v1}');
    await new Promise((r) => setTimeout(r, 50));
    const registry = new QueueRegistry(redis);
    closers.push(() => registry.close());
    const sweeper = new RetentionSweeper(redis, registry, { jobMs: 10, batchMs: 10 }, log);
    expect(await sweeper.sweep(true)).toBe(2);
    expect(await old.getJobCounts('completed')).toMatchObject({ completed: 0 });
    const known = await redis.smembers(QUEUE_NAMES_KEY);
    expect(known).toContain('{infer-older-v1}');
    expect(known).not.toContain('{b-some-batch}');
    // Once: another process's sweep (its registry has not made that queue) does not scan again.
    await redis.srem(QUEUE_NAMES_KEY, '{infer-older-v1}');
    const other = new QueueRegistry(redis);
    closers.push(() => other.close());
    const later = new RetentionSweeper(redis, other, { jobMs: 10, batchMs: 10 }, log);
    await later.sweep(true);
    expect(await redis.smembers(QUEUE_NAMES_KEY)).not.toContain('{infer-older-v1}');
    await Promise.all([sweeper.close(), later.close()]);
  });

  it('reads a model queue out of its meta key, and nothing else', () => {
    expect(queueOfMetaKey(`${PREFIX}:{infer-mlp-v12}:meta`)).toBe('{infer-mlp-v12}');
    expect(queueOfMetaKey(`${PREFIX}:{b-abc}:meta`)).toBeUndefined();
    expect(queueOfMetaKey(`${PREFIX}:{infer-mlp-v1}:job1:meta`)).toBeUndefined();
    expect(queueOfMetaKey(`other:{infer-mlp-v1}:meta`)).toBeUndefined();
  });
});
