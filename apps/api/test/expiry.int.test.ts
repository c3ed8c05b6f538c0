/**
 * ExpirySweeper on a real redis-server and BullMQ: a queued job past its deadline is ended
 * (expired, with its job.completed queued and a deferred failure), a job that ran or ended only
 * leaves the deadlines set (thousands a sweep), and one a worker holds is looked at again later.
 */
import { type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bullJobKey, createLogger, DEADLINE_QUEUES_KEY, deadlinesKey, OutboxRelay, outboxKeys, startRedisServer, WebhookEmitter, type RedisServer,
} from '@maas/shared';
import { ExpirySweeper } from '../src/services/expiry.js';
import { QueueRegistry } from '../src/services/queues.js';

let server: RedisServer;
let redis: Redis;
let queues: QueueRegistry;
let emitter: WebhookEmitter;
const log = createLogger('test', 'silent');
const QUEUE = '{expiry-test}';

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  queues = new QueueRegistry(redis);
  emitter = new WebhookEmitter(redis, 3600);
});
afterAll(async () => {
  await emitter?.close();
  await queues?.close();
  redis?.disconnect();
  await server?.stop();
});

const data = (deadline: number, webhook = true) => ({
  v: 1, model: 'm', version: 1, tenant: 't', rows: 1, inputs: [], outputs: [], priority: 100, deadline,
  ...(webhook ? { webhook: { url: 'https://example.com/hook', events: ['completed'] } } : {}),
});

describe('ExpirySweeper', () => {
  it('expires a queued job past its deadline, drops the entries of jobs that ran or ended, and looks again at a held one', async () => {
    const queue: Queue = queues.byName(QUEUE);
    const past = Date.now() - 1000;
    const key = deadlinesKey(QUEUE);
    await queue.add('infer', data(past), { jobId: 'queued' });
    await queue.add('infer', data(past), { jobId: 'held' });
    await redis.set(`${bullJobKey(QUEUE, 'held')}:lock`, 'a-worker');
    await queue.add('infer', data(Date.now() + 60_000), { jobId: 'later' });
    // Thousands that ran and finished (most entries, under load).
    const finished = Array.from({ length: 2500 }, (_, i) => `done${i}`);
    const pipe = redis.pipeline();
    for (const id of finished) pipe.hset(bullJobKey(QUEUE, id), 'finishedOn', String(past)).zadd(key, past, id);
    await pipe.exec();
    await redis.zadd(key, past, 'queued', past, 'held', Date.now() + 60_000, 'later', past, 'gone');
    await redis.sadd(DEADLINE_QUEUES_KEY, QUEUE);

    const expiredOf: string[] = [];
    const sweeper = new ExpirySweeper(redis, queues, new OutboxRelay(redis, emitter, log), undefined, log, (model) => expiredOf.push(model));
    expect(await sweeper.sweep()).toBe(1);
    expect(expiredOf).toEqual([QUEUE]); // maas_jobs_expired_total: by the queue's model; a queue not named for one (this test's), by its name
    const [ended, defa] = await redis.hmget(bullJobKey(QUEUE, 'queued'), 'ended', 'defa');
    expect(ended).toMatch(/^failed:.*expired/);
    expect(defa).toMatch(/expired/);
    // Its job.completed went to the webhook queue (relayed), the entry with it.
    expect(await redis.zcard(outboxKeys(QUEUE).due)).toBe(0);
    expect((await emitter.queue.getJobCounts('waiting', 'delayed', 'prioritized')).waiting).toBe(1);
    // What is left: the held job (later), and the one not due.
    expect((await redis.zrange(key, '0', '-1')).sort()).toEqual(['held', 'later']);
    expect(Number(await redis.zscore(key, 'held'))).toBeGreaterThan(Date.now());
    expect(await redis.hget(bullJobKey(QUEUE, 'held'), 'ended')).toBeNull();
    // A second sweep finds nothing to do.
    expect(await sweeper.sweep()).toBe(0);
    expect(expiredOf).toHaveLength(1);
  });
});
