/**
 * Idempotency-Key claim and enqueue are two steps (issue 13): retries racing the first
 * request all get its job (never a 404) and make one job; a key whose first request died
 * between claim and enqueue is healed by the next retry instead of pointing at nothing.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, queuedInferenceJobs, rows } from '../src/harness/index.js';

let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0 });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const body = (seed: number) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32)[0] }] });

describe('Idempotency-Key under races', () => {
  it('20 concurrent requests with one key, ten keys over: one job per key, no 404', async () => {
    for (let k = 0; k < 10; k++) {
      const before = await queuedInferenceJobs(redis);
      const replies = await Promise.all(Array.from({ length: 20 }, () => call(cluster.url, 'POST', '/v1/jobs', body(k), { 'Idempotency-Key': `race-${k}` })));
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s !== 202), JSON.stringify(replies.find((r) => r.status !== 202)?.body)).toEqual([]);
      expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
      expect(await queuedInferenceJobs(redis)).toBe(before + 1);
    }
  });

  it('a key whose job never got queued (its request died in between) is healed by the retry', async () => {
    const first = await call(cluster.url, 'POST', '/v1/jobs', body(99), { 'Idempotency-Key': 'crash' });
    expect(first.status).toBe(202);
    // What a crash between claim and enqueue leaves: the claim, and no job.
    const queue = new Queue('{infer-mlp-v1}', { connection: redis, prefix: 'maas' });
    expect(await queue.remove(first.body.id)).toBe(1);
    await redis.del(`maas:job:${first.body.id}`);
    await queue.close();
    const retry = await call(cluster.url, 'POST', '/v1/jobs', body(99), { 'Idempotency-Key': 'crash' });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
    expect((await call(cluster.url, 'GET', `/v1/jobs/${first.body.id}`)).body.status).toBe('queued');
    // Another body under the same key is still a conflict.
    expect((await call(cluster.url, 'POST', '/v1/jobs', body(98), { 'Idempotency-Key': 'crash' })).status).toBe(409);
  });

  it('a claim is kept as long as jobs once its job is queued', async () => {
    await call(cluster.url, 'POST', '/v1/jobs', body(5), { 'Idempotency-Key': 'ttl' });
    const [key] = await redis.keys('maas:idem:default:*');
    const ttls = await Promise.all((await redis.keys('maas:idem:default:*')).map((k) => redis.ttl(k)));
    expect(key).toBeDefined();
    expect(Math.min(...ttls)).toBeGreaterThan(3600);
  });
});
