import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSynced, keepClusterClock, resetClusterClock, syncClusterClock } from './cluster-clock.js';
import { DataEpoch, epochChange, type EpochChange, type EpochReading } from './data-epoch.js';
import { createLogger } from './logger.js';
import { DATA_EPOCH_KEY } from './queues.js';
import { freePort, startRedisServer, type RedisServer } from './redis-server.js';

const reading = (id: string, seq: number, createdAt = 1000, existed = true): EpochReading => ({ existed, id, createdAt, seq });

describe('epochChange', () => {
  it('says nothing on a first reading (a new cluster, an upgrade) or while the counter moves on', () => {
    expect(epochChange(undefined, 0, reading('a', 1, 1000, false))).toBeUndefined();
    expect(epochChange(reading('a', 1), 2000, reading('a', 5))).toBeUndefined();
  });
  it('tells an emptied Redis (made anew by this reading or since the last), another copy, and an older snapshot', () => {
    expect(epochChange(reading('a', 7), 2000, reading('b', 1, 3000, false))).toBe('emptied');
    expect(epochChange(reading('a', 7), 2000, reading('b', 2, 2500))).toBe('emptied'); // another process made it first
    expect(epochChange(reading('a', 7), 2000, reading('c', 40, 500))).toBe('replaced');
    expect(epochChange(reading('a', 7), 2000, reading('b', 2, 1500))).toBe('emptied'); // within the clocks' slack
    expect(epochChange(reading('a', 7), 2000, reading('a', 7))).toBe('rolled-back');
    expect(epochChange(reading('a', 7), 2000, reading('a', 3))).toBe('rolled-back');
  });
});

describe('DataEpoch on a real redis-server, riding on the clock', () => {
  let server: RedisServer;
  let redis: Redis;
  const errors: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = createLogger('test', 'silent');
  log.error = ((obj: Record<string, unknown>, msg: string) => void errors.push({ obj, msg })) as typeof log.error;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    resetClusterClock();
    redis?.disconnect();
    await server?.stop();
  });

  it('makes the sentinel once, then reports each change once: emptied, an older snapshot, another copy', async () => {
    const changes: EpochChange[] = [];
    const a = new DataEpoch(log, (c) => changes.push(c));
    const b = new DataEpoch(log, (c) => changes.push(c));
    await syncClusterClock(redis, a);
    await syncClusterClock(redis, b);
    expect(b.current!.id).toBe(a.current!.id);
    expect(b.current!.seq).toBe(2);
    await syncClusterClock(redis, a);
    expect(changes).toEqual([]);

    await redis.flushall(); // Redis came back empty
    await syncClusterClock(redis, a); // makes it anew
    await syncClusterClock(redis, b); // finds another process's, made since it last looked
    await syncClusterClock(redis, a);
    expect(changes).toEqual(['emptied', 'emptied']);
    expect(errors.map((e) => e.obj['data_epoch'])).toMatchObject([{ change: 'emptied' }, { change: 'emptied' }]);
    expect(errors[0]!.msg).toMatch(/came back empty.*idempotency keys.*tenant webhook secrets/);

    const snapshot = await redis.hgetall(DATA_EPOCH_KEY);
    await syncClusterClock(redis, a);
    await redis.hset(DATA_EPOCH_KEY, snapshot); // restored from a snapshot taken before a's last check
    await syncClusterClock(redis, a);
    expect(changes.at(-1)).toBe('rolled-back');

    await redis.hset(DATA_EPOCH_KEY, { id: 'other-copy', created_at: '1', seq: '99' });
    await syncClusterClock(redis, a);
    await syncClusterClock(redis, a);
    expect(changes.slice(2)).toEqual(['rolled-back', 'replaced']);
  });

  it('checks again as soon as the connection is back (ready), not only every CLUSTER_CLOCK_SYNC_MS', async () => {
    const changes: EpochChange[] = [];
    const epoch = new DataEpoch(log, (c) => changes.push(c));
    const clock = await keepClusterClock(redis, () => {}, epoch);
    try {
      await server.kill();
      await server.restart(); // no persistence: empty
      const t0 = Date.now();
      while (!changes.length && Date.now() - t0 < 8000) await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual(['emptied']);
      expect(await redis.hget(DATA_EPOCH_KEY, 'id')).toBe(epoch.current!.id);
    } finally {
      await clock.stop();
    }
  });
  it('leaves the clock its reading while Redis refuses the epoch\'s write (read-only: a failover), and says so once', async () => {
    const warns: string[] = [];
    const quiet = createLogger('test', 'silent');
    quiet.warn = ((_obj: unknown, msg: string) => void warns.push(msg)) as typeof quiet.warn;
    const epoch = new DataEpoch(quiet);
    await redis.replicaof('127.0.0.1', String(await freePort()));
    try {
      resetClusterClock();
      await syncClusterClock(redis, epoch); // TIME answered: no throw
      await syncClusterClock(redis, epoch);
      expect(clusterSynced()).toBe(true);
      expect(warns).toEqual(['the data epoch could not be checked (Redis refuses writes?): checked again with the clock']);
    } finally {
      await redis.replicaof('NO', 'ONE');
    }
    await syncClusterClock(redis, epoch);
    expect(epoch.current).toBeDefined();
  });
});
