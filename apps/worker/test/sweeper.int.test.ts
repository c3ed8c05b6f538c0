/**
 * DeadWorkerSweeper and AliveBeat on a real redis-server and BullMQ: only the jobs of a worker
 * whose beat expired are released (lock dropped, marked stalled), and BullMQ's stalled-job
 * check then requeues them; a live worker's and a never-beating worker's jobs stay put.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, PREFIX, startRedisServer, WORKERS_ALIVE_KEY, type RedisServer } from '@maas/shared';
import { AliveBeat } from '../src/liveness/alive-beat.js';
import { DeadWorkerSweeper } from '../src/liveness/sweeper.js';
import { deliveryHolder } from '../src/webhooks/deliverer.js';

let server: RedisServer;
let redis: Redis;
let queue: Queue;
const workers: Worker[] = [];
const log = createLogger('test', 'silent');
const QUEUE = '{sweep-test}';

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE, { connection: redis, prefix: PREFIX });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(true)));
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

/** A worker named `name` that takes one job of `queueName` by hand (as a runner holding it would). */
async function holdOne(name: string, queueName = QUEUE): Promise<string> {
  const w = new Worker(queueName, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, name, lockDuration: 60_000 });
  workers.push(w);
  const job = await w.getNextJob(`${name}-token`);
  expect(job?.processedBy).toBe(name);
  return job!.id!;
}

const lockOf = (id: string) => redis.exists(`${PREFIX}:${QUEUE}:${id}:lock`);

describe('DeadWorkerSweeper', () => {
  it('releases the jobs of a worker whose beat expired, and only those', async () => {
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }, { name: 'c', data: {} }]);
    const dead = await holdOne('wrk_dead');
    const live = await holdOne('wrk_live');
    const old = await holdOne('wrk_never_beat');
    const ms = Number((await redis.time())[0]) * 1000;
    await redis.zadd(WORKERS_ALIVE_KEY, ms - 1000, 'wrk_dead', ms - 3_600_000, 'wrk_forgotten');
    await new AliveBeat(redis, 'wrk_live', 600, log).beat();

    const sweeper = new DeadWorkerSweeper(redis, 'wrk_self', log, { periodMs: 200, forgetAfterMs: 30_000, queues: () => [QUEUE] });
    expect(await sweeper.sweep()).toBe(1);
    expect(await lockOf(dead)).toBe(0);
    expect(await redis.sismember(`${PREFIX}:${QUEUE}:stalled`, dead)).toBe(1);
    expect(await lockOf(live)).toBe(1);
    expect(await lockOf(old)).toBe(1);
    // An entry expired long ago is forgotten (its locks have expired by then anyway).
    expect(await redis.zscore(WORKERS_ALIVE_KEY, 'wrk_forgotten')).toBeNull();
    expect(await sweeper.sweep()).toBe(0); // nothing left to release

    // BullMQ's own stalled-job check (here a live worker's) puts the released job back in wait.
    const checker = new Worker(QUEUE, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, name: 'wrk_checker', stalledInterval: 500 });
    workers.push(checker);
    await checker.startStalledCheckTimer();
    await expect.poll(() => queue.getJobState(dead), { timeout: 5000 }).toBe('waiting');
    expect(await queue.getJobState(live)).toBe('active');
    expect(await queue.getJobState(old)).toBe('active');
  });
});

describe('DeadWorkerSweeper and webhook deliveries', () => {
  it("releases a dead worker's deliveries too (held under its deliverer's name), not a live one's", async () => {
    const DELIVERIES = '{sweep-deliveries}';
    const deliveries = new Queue(DELIVERIES, { connection: redis, prefix: PREFIX });
    await deliveries.addBulk([{ name: 'd1', data: {} }, { name: 'd2', data: {} }]);
    const dead = await holdOne(deliveryHolder('wrk_dead2'), DELIVERIES);
    const live = await holdOne(deliveryHolder('wrk_live2'), DELIVERIES);
    const ms = Number((await redis.time())[0]) * 1000;
    await redis.zadd(WORKERS_ALIVE_KEY, ms - 1000, 'wrk_dead2');
    await new AliveBeat(redis, 'wrk_live2', 600, log).beat();
    const sweeper = new DeadWorkerSweeper(redis, 'wrk_self', log, { periodMs: 200, forgetAfterMs: 30_000, queues: () => [DELIVERIES], aliases: (id) => [deliveryHolder(id)] });
    expect(await sweeper.sweep()).toBe(1);
    expect(await redis.exists(`${PREFIX}:${DELIVERIES}:${dead}:lock`)).toBe(0);
    expect(await redis.sismember(`${PREFIX}:${DELIVERIES}:stalled`, dead)).toBe(1);
    expect(await redis.exists(`${PREFIX}:${DELIVERIES}:${live}:lock`)).toBe(1);
    await deliveries.close();
  });
});

describe('DeadWorkerSweeper.releasePredecessor (a worker restarted under its own id)', () => {
  it("releases what a dead process under this worker's id held (jobs and deliveries); not while the id's entry is fresh", async () => {
    const JOBS = '{sweep-self-jobs}';
    const DELIVERIES = '{sweep-self-deliveries}';
    const jobs = new Queue(JOBS, { connection: redis, prefix: PREFIX });
    const deliveries = new Queue(DELIVERIES, { connection: redis, prefix: PREFIX });
    await jobs.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await deliveries.addBulk([{ name: 'd1', data: {} }, { name: 'd2', data: {} }]);
    const job = await holdOne('wrk_pod', JOBS);
    const other = await holdOne('wrk_other', JOBS);
    const delivery = await holdOne(deliveryHolder('wrk_pod'), DELIVERIES);
    const warnings: unknown[] = [];
    const spy = { ...log, warn: (o: unknown) => warnings.push(o) } as unknown as typeof log;
    const restarted = new DeadWorkerSweeper(redis, 'wrk_pod', spy, { periodMs: 200, forgetAfterMs: 30_000, queues: () => [], aliases: (id) => [deliveryHolder(id)] });
    const held = async () => [await redis.exists(`${PREFIX}:${JOBS}:${job}:lock`), await redis.exists(`${PREFIX}:${DELIVERIES}:${delivery}:lock`)];

    // The id's entry stays fresh: another live process beats under it. Nothing released, a warning.
    const beating = new AliveBeat(redis, 'wrk_pod', 300, log);
    await beating.start();
    expect(await restarted.releasePredecessor([JOBS, DELIVERIES])).toBeNull();
    clearInterval((beating as unknown as { timer: NodeJS.Timeout }).timer); // it dies, its entry left behind
    expect(await held()).toEqual([1, 1]);
    expect(JSON.stringify(warnings)).toMatch(/wrk_pod/);

    // Restarted in place within the TTL (one beat, not renewed since): waited out, then released
    // (before, left to the locks: 30 s). A third of the TTL later than the entry's expiry at most.
    const t0 = performance.now();
    expect(await restarted.releasePredecessor([JOBS, DELIVERIES])).toBe(2);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await held()).toEqual([0, 0]);
    for (const [q, id] of [[JOBS, job], [DELIVERIES, delivery]] as const) {
      await redis.srem(`${PREFIX}:${q}:stalled`, id);
      await redis.set(`${PREFIX}:${q}:${id}:lock`, 'relocked'); // held again, for the next case
    }

    // Its beat expired (the process died): released, as a dead worker's are; another worker's job stays.
    const ms = Number((await redis.time())[0]) * 1000;
    await redis.zadd(WORKERS_ALIVE_KEY, ms - 1000, 'wrk_pod');
    expect(await restarted.releasePredecessor([JOBS, DELIVERIES])).toBe(2);
    expect(await held()).toEqual([0, 0]);
    expect(await redis.sismember(`${PREFIX}:${JOBS}:stalled`, job)).toBe(1);
    expect(await redis.sismember(`${PREFIX}:${DELIVERIES}:stalled`, delivery)).toBe(1);
    expect(await redis.exists(`${PREFIX}:${JOBS}:${other}:lock`)).toBe(1);

    // No entry at all (forgotten, or a clean stop left it): nothing fresh holds the id either.
    await redis.zrem(WORKERS_ALIVE_KEY, 'wrk_pod');
    expect(await restarted.releasePredecessor([JOBS, DELIVERIES])).toBe(0);
    await jobs.close();
    await deliveries.close();
  });
});
