import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, WORKERS_INFO_KEY, WORKERS_SEEN_KEY, type RedisServer } from '@maas/shared';
import { WorkerDirectory } from './workers.js';

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('WorkerDirectory.live', () => {
  it('forgets a worker that stopped beating, and answers all the same while Redis refuses writes (read-only: a failover)', async () => {
    const info = (id: string) => JSON.stringify({ id, host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 1000, models: [] });
    const seed = async () => {
      await redis.zadd(WORKERS_SEEN_KEY, Date.now() - 60_000, 'gone', Date.now(), 'here');
      await redis.hset(WORKERS_INFO_KEY, 'gone', info('gone'), 'here', info('here'));
    };
    await seed();
    expect((await new WorkerDirectory(redis).live(true)).map((w) => w.id)).toEqual(['here']);
    expect(await redis.zrange(WORKERS_SEEN_KEY, '0', '-1')).toEqual(['here']);
    await seed();
    await redis.replicaof('127.0.0.1', String(await freePort()));
    try {
      // The forgetting is refused (EXECABORT: READONLY); the read is answered, the entry left for later.
      expect((await new WorkerDirectory(redis).live(true)).map((w) => w.id)).toEqual(['here']);
      expect(await redis.zrange(WORKERS_SEEN_KEY, '0', '-1')).toEqual(['gone', 'here']);
    } finally {
      await redis.replicaof('NO', 'ONE');
    }
  });
});
