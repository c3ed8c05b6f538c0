import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { FORGET_DEAD_LUA, FORGET_GONE_LUA } from './worker-registry.js';

const SEEN = 't:{workers}:seen';
const INFO = 't:{workers}:info';
const METRICS = 't:{workers}:metrics';
const GONE = 't:{workers}:gone';

describe('worker registry scripts against a real Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.port, '127.0.0.1');
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('FORGET_DEAD_LUA forgets a dead worker, but not one that beat since, and keeps the last counts of one that left cleanly', async () => {
    await redis.multi().zadd(SEEN, 100, 'dead', 100, 'restarted', 100, 'left').hset(INFO, 'dead', '{}', 'restarted', '{}', 'left', '{}')
      .hset(METRICS, 'dead', 'm', 'restarted', 'm', 'left', 'm').zadd(GONE, 5, 'left').exec();
    await redis.zadd(SEEN, 200, 'restarted'); // beat again after it was read dead at 100
    const n = await redis.eval(FORGET_DEAD_LUA, 4, SEEN, INFO, METRICS, GONE, 'dead', '100', 'restarted', '100', 'left', '100');
    expect(n).toBe(2);
    expect(await redis.zrange(SEEN, '0', '-1')).toEqual(['restarted']);
    expect((await redis.hkeys(METRICS)).sort()).toEqual(['left', 'restarted']);
  });

  it('FORGET_GONE_LUA forgets the workers gone longer than the linger, on Redis time', async () => {
    const [s] = await redis.time();
    const now = Number(s) * 1000;
    await redis.multi().del(GONE, METRICS).zadd(GONE, now - 200_000, 'old', now - 1000, 'recent').hset(METRICS, 'old', 'm', 'recent', 'm').exec();
    expect(await redis.eval(FORGET_GONE_LUA, 2, GONE, METRICS, 120_000)).toBe(1);
    expect(await redis.zrange(GONE, '0', '-1')).toEqual(['recent']);
    expect(await redis.hkeys(METRICS)).toEqual(['recent']);
  });
});
