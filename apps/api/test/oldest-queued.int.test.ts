/**
 * The oldest queued job of a model queue (services/oldest-queued.ts), read by one script on a
 * real redis-server from BullMQ's own keys: jobs waiting plain or by priority count, a delayed
 * one does not, and an empty queue has none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, inferenceQueueName, PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { oldestQueuedAt, queuedSeconds } from '../src/services/oldest-queued.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, { lazyConnect: false });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('oldestQueuedAt', () => {
  it('is the smallest creation time among the waiting and prioritized jobs, the next as they leave', async () => {
    const name = inferenceQueueName('oldest', 1);
    const queue = new Queue(name, { connection: redis, prefix: PREFIX, skipVersionCheck: true });
    expect(await oldestQueuedAt(redis, name)).toBeUndefined();
    await queue.add('j', {}, { jobId: 'j1', timestamp: 5_000 });
    await queue.add('j', {}, { jobId: 'j2', priority: 1, timestamp: 9_000 });
    await queue.add('j', {}, { jobId: 'j3', priority: 50, timestamp: 3_000 });
    await queue.add('j', {}, { jobId: 'j4', delay: 60_000, timestamp: 1_000 });
    expect(await oldestQueuedAt(redis, name)).toBe(3_000);
    // As they leave the queue (taken, canceled), the next oldest; the delayed one never counts.
    await queue.remove('j3');
    expect(await oldestQueuedAt(redis, name)).toBe(5_000);
    await queue.remove('j1');
    expect(await oldestQueuedAt(redis, name)).toBe(9_000);
    await queue.remove('j2');
    expect(await oldestQueuedAt(redis, name)).toBeUndefined();
    await queue.close();
  });
});

describe('queuedSeconds', () => {
  it('is the wait to a tenth of a second, never below 0, undefined for none', () => {
    expect(queuedSeconds(1_000, 3_449)).toBe(2.4);
    expect(queuedSeconds(5_000, 4_000)).toBe(0);
    expect(queuedSeconds(undefined, 4_000)).toBeUndefined();
  });
});
