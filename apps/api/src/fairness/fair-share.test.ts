/**
 * TURNS_LUA against a real redis-server and BullMQ's own queue: the priorities it hands out
 * make BullMQ's order take tenants in turn, it reads the band's head from BullMQ's set, starts
 * again when the band is empty, clamps, and leaves the other priorities alone.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PRIORITY, laneKey, PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { FairShare } from './fair-share.js';
import { BATCH_PRIORITY, bandBase, TURN_WIDTH } from './lanes.js';

const QUEUE = '{infer-test-v1}';
let server: RedisServer;
let redis: Redis;
let queue: Queue;
let fair: FairShare;
let seq = 0;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  queue = new Queue(QUEUE, { connection: redis, prefix: PREFIX });
  fair = new FairShare(redis, true);
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

/** Queues `n` jobs of `rows` for `tenant` as the API does: its turn, then BullMQ's add. */
async function enqueue(tenant: string, n: number, rows = 1, priority = DEFAULT_PRIORITY, q = 1): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const [p] = await fair.priorities(QUEUE, tenant, priority, [rows], q);
    const id = `${tenant}-${++seq}`;
    await queue.add('infer', { tenant }, { jobId: id, priority: p });
    ids.push(id);
  }
  return ids;
}

/** Tenants in the order BullMQ hands the band's jobs out. */
async function order(): Promise<string[]> {
  return (await queue.getPrioritized(0, -1)).map((j) => (j.data as { tenant: string }).tenant);
}

describe('FairShare (TURNS_LUA on BullMQ)', () => {
  it('a flood and a newcomer: BullMQ hands their jobs out in turn', async () => {
    await enqueue('A', 50);
    await enqueue('B', 3);
    const got = await order();
    expect(got.slice(0, 6)).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
    expect(got.slice(6).every((t) => t === 'A')).toBe(true);
  });

  it('the head\'s turn is the model\'s: a tenant arriving later starts there, not at 0 or behind the flood', async () => {
    const a = await enqueue('A', 20);
    for (const id of a.slice(0, 10)) await queue.remove(id); // ten ran: the head is at turn 10
    const [p] = await fair.priorities(QUEUE, 'C', DEFAULT_PRIORITY, [1], 1);
    expect(p).toBe(bandBase(DEFAULT_PRIORITY) + 10);
  });

  it('an empty band starts every lane again at 0', async () => {
    const a = await enqueue('A', 5);
    for (const id of a) await queue.remove(id);
    const [p] = await fair.priorities(QUEUE, 'A', DEFAULT_PRIORITY, [1], 1);
    expect(p).toBe(bandBase(DEFAULT_PRIORITY));
  });

  it('moves a lane by rows over the quantum, and clamps at the band\'s room', async () => {
    await enqueue('A', 1, 64, BATCH_PRIORITY, 32); // turn 0, lane at 2
    expect(await fair.priorities(QUEUE, 'A', BATCH_PRIORITY, [16, 16, 1], 32)).toEqual([2, 2, 3].map((t) => bandBase(BATCH_PRIORITY) + t));
    await redis.hset(laneKey(QUEUE, BATCH_PRIORITY), 'A', String(TURN_WIDTH + 10));
    const [p] = await fair.priorities(QUEUE, 'A', BATCH_PRIORITY, [1], 32);
    expect(p).toBe(bandBase(BATCH_PRIORITY) + TURN_WIDTH - 1);
    expect(p).toBeLessThan(bandBase(BATCH_PRIORITY + 1));
  });

  it('bands are apart: jobs of another band do not set this one\'s head', async () => {
    await enqueue('A', 30, 1, BATCH_PRIORITY);
    const [p] = await fair.priorities(QUEUE, 'B', DEFAULT_PRIORITY, [1], 1);
    expect(p).toBe(bandBase(DEFAULT_PRIORITY));
  });

  it('explicit priorities take no turn and touch no lane; off, nothing does', async () => {
    expect(await fair.priorities(QUEUE, 'A', 50, [1], 1)).toEqual([bandBase(50)]);
    expect(await redis.keys('*lanes*')).toEqual([]);
    const off = new FairShare(redis, false);
    expect(await off.priorities(QUEUE, 'A', DEFAULT_PRIORITY, [1, 1], 1)).toEqual([bandBase(DEFAULT_PRIORITY), bandBase(DEFAULT_PRIORITY)]);
    expect(await redis.keys('*lanes*')).toEqual([]);
  });
});
