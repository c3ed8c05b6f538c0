/**
 * The API's atomic Redis steps, run on a real redis-server: the Idempotency-Key claim's
 * lifetime (pending until its job is queued) and the batch cancel script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { batchKeys, cancelBatch, createRedis, recordChunks, startRedisServer, type RedisServer } from '@maas/shared';
import { IdempotencyStore, PENDING_TTL_S } from '../src/services/idempotency.js';

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

describe('IdempotencyStore', () => {
  it('a claim lasts PENDING_TTL_S until committed, then the full TTL', async () => {
    const store = new IdempotencyStore(redis, 86_400);
    expect(await store.claim('t', 'k1', { a: 1 }, 'job_1')).toBeUndefined();
    const keys = await redis.keys('maas:idem:t:*');
    expect(keys).toHaveLength(1);
    expect(await redis.ttl(keys[0]!)).toBeLessThanOrEqual(PENDING_TTL_S);
    expect(await store.claim('t', 'k1', { a: 1 }, 'job_2')).toBe('job_1');
    await expect(store.claim('t', 'k1', { a: 2 }, 'job_3')).rejects.toMatchObject({ status: 409 });
    await store.commit('t', 'k1', 'job_1');
    expect(await redis.ttl(keys[0]!)).toBeGreaterThan(86_000);
  });

  it('commit and release act only on a claim for their job', async () => {
    const store = new IdempotencyStore(redis, 86_400);
    await store.claim('t', 'k2', {}, 'job_10');
    await store.release('t', 'k2', 'job_0'); // not its claim (a job id that is a suffix of it)
    await store.commit('t', 'k2', 'job_0');
    expect(await store.claim('t', 'k2', {}, 'job_11')).toBe('job_10');
    await store.release('t', 'k2', 'job_10');
    expect(await store.claim('t', 'k2', {}, 'job_12')).toBeUndefined();
  });
});

describe('cancelBatch (CANCEL_BATCH_LUA)', () => {
  const meta = async (id: string, fields: Record<string, string | number>) => {
    await redis.hset(batchKeys(id).meta, fields);
    return batchKeys(id).meta;
  };

  it('cancels an unfinished batch, leaves a completed one alone, knows no half-uploaded one', async () => {
    const running = await meta('batch_r', { uploaded: 1, status: 'running' });
    expect(await cancelBatch(redis, 'batch_r')).toBe('canceled');
    expect(await redis.hget(running, 'status')).toBe('canceled');
    const done = await meta('batch_d', { uploaded: 1, status: 'succeeded', completed_at: Date.now() });
    expect(await cancelBatch(redis, 'batch_d')).toBe('completed');
    expect(await redis.hget(done, 'status')).toBe('succeeded');
    await meta('batch_u', { uploaded: 0, status: 'queued' });
    expect(await cancelBatch(redis, 'batch_u')).toBe('none');
    expect(await cancelBatch(redis, 'batch_none')).toBe('none');
  });

  it('racing the last chunk: the batch ends either canceled, or succeeded with nothing canceled', async () => {
    for (let i = 0; i < 200; i++) {
      const id = `batch_race${i}`;
      const k = batchKeys(id);
      await meta(id, { uploaded: 1, status: 'running', chunks_total: 1 });
      const [cancel] = await Promise.all([
        cancelBatch(redis, id),
        recordChunks(redis, id, 60, ['0', 's:1', '']),
      ]);
      const status = await redis.hget(k.meta, 'status');
      expect(status).toBe(cancel === 'canceled' ? 'canceled' : 'succeeded');
    }
  });
});
