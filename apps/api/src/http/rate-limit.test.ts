/**
 * The rate limiter against a real redis-server, on a client that auto-pipelines as the API's
 * does: a rate's first request in a tick that has already sent another command.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError, startRedisServer, type RedisServer } from '@maas/shared';
import { rateLimiter } from './rate-limit.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableAutoPipelining: true });
  await redis.ping();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('rateLimiter', () => {
  it('counts a rate\'s first request sent in the same tick as other commands (an open auto-pipeline)', async () => {
    const rates: Record<string, number> = { a: 2, b: 3, c: 0 };
    const limit = rateLimiter(redis, (t) => rates[t] ?? 5, [2, 3, 5]);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      for (const tenant of ['a', 'b', 'd']) {
        const other = redis.get('something'); // opens this tick's auto-pipeline
        const counted = [limit(tenant), limit(tenant), limit(tenant), limit(tenant)];
        await other;
        const outcomes = await Promise.allSettled(counted);
        const passed = outcomes.filter((o) => o.status === 'fulfilled').length;
        expect(passed, tenant).toBe(Math.min(4, rates[tenant] ?? 5));
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RateLimitedError);
      }
      expect(limit('c')).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
