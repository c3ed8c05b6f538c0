/**
 * The blocking fetch's stale-marker drop (batching/blocking-fetch.ts DROP_STALE_MARKER_LUA) on a
 * real redis-server and BullMQ: BullMQ's moveToActive adds the base marker back when it takes a
 * job; the drop removes it when nothing is waiting, and leaves it while a job waits (plain or
 * prioritized) and leaves a delayed job's marker; a job handed back marks its queue again unless
 * the queue is paused (MARK_UNLESS_PAUSED_LUA). And `handBack` (liveness/lost-fetches.ts: a lost
 * fetch's job, a batch chunk past a worker's row budget, a chunk a stopping worker had not
 * started) puts a job back as it was before its fetch: no `processedOn` (read as "a worker took
 * it before" by expiry and the queued-rows tally), no holder, its attempts started as before, its
 * queue marked; a job whose lock is another's is left alone.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { DROP_STALE_MARKER_LUA } from '../src/batching/blocking-fetch.js';
import { handBack, MARK_UNLESS_PAUSED_LUA, type LostFetchBackend } from '../src/liveness/lost-fetches.js';
import { expectHandedBack } from './hand-back-check.js';

let server: RedisServer;
let redis: Redis;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  redis?.disconnect();
  await server?.stop();
});

let n = 0;
/** A fresh queue, a worker that takes jobs by hand, and the queue's keys. */
function fresh() {
  const name = `{marker-${++n}}`;
  const queue = new Queue(name, { connection: redis, prefix: PREFIX });
  const worker = new Worker(name, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, lockDuration: 60_000 });
  closers.push(() => queue.close(), () => worker.close(true));
  const key = (k: string) => `${PREFIX}:${name}:${k}`;
  const drop = () => redis.eval(DROP_STALE_MARKER_LUA, 3, key('wait'), key('prioritized'), key('marker'));
  const mark = () => redis.eval(MARK_UNLESS_PAUSED_LUA, 2, key('meta'), key('marker'));
  const marker = async () => Object.fromEntries(((await redis.zrange(key('marker'), '0', '-1')) as string[]).map((m) => [m, true]));
  return { queue, worker, drop, mark, marker };
}

describe('the stale marker', () => {
  it('BullMQ adds it back when a job is taken; it is dropped once nothing waits', async () => {
    const { queue, worker, drop, marker } = fresh();
    await queue.add('j', {});
    expect(await worker.getNextJob('t1')).toBeDefined();
    expect(await marker()).toEqual({ 0: true }); // what a waiting worker would pop at once, for nothing
    expect(await drop()).toBe(1);
    expect(await marker()).toEqual({});
    await queue.add('j', {}); // a job added later marks the queue again
    expect(await marker()).toEqual({ 0: true });
  });

  it('is kept while a job waits, plain or prioritized', async () => {
    const { queue, worker, drop, marker } = fresh();
    await queue.add('a', {});
    await queue.add('b', {});
    await queue.add('c', {}, { priority: 5 });
    expect(await worker.getNextJob('t1')).toBeDefined();
    expect(await drop()).toBe(0);
    expect(await marker()).toEqual({ 0: true });
    expect(await worker.getNextJob('t2')).toBeDefined();
    expect(await drop()).toBe(0); // the prioritized job still waits
    expect(await worker.getNextJob('t3')).toBeDefined();
    expect(await drop()).toBe(1);
  });

  it("leaves a delayed job's marker", async () => {
    const { queue, worker, drop, marker } = fresh();
    await queue.add('later', {}, { delay: 60_000 });
    await queue.add('now', {});
    expect(await worker.getNextJob('t1')).toBeDefined();
    await drop();
    expect(await marker()).toEqual({ 1: true });
  });

  it('a job handed back is marked again, unless its queue is paused', async () => {
    const { queue, worker, drop, mark, marker } = fresh();
    await queue.add('j', {});
    expect(await worker.getNextJob('t1')).toBeDefined();
    await drop();
    expect(await mark()).toBe(1);
    expect(await marker()).toEqual({ 0: true });
    await drop();
    await queue.pause();
    expect(await mark()).toBe(0);
    expect(await marker()).toEqual({});
    await queue.resume(); // BullMQ marks a resumed queue that holds jobs itself
  });
});

describe('handBack', () => {
  it('puts a fetched job back as it was before its fetch, and marks its queue', async () => {
    const name = '{hand-back-1}';
    const queue = new Queue(name, { connection: redis, prefix: PREFIX });
    const worker = new Worker(name, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, lockDuration: 60_000, name: 'wrk_a' });
    closers.push(() => queue.close(), () => worker.close(true));
    const backend = (worker as unknown as { backend: LostFetchBackend }).backend;
    await expectHandedBack(redis, queue, worker, 'wrk_a', (id, token) => handBack(backend, id, token));
  });
});
