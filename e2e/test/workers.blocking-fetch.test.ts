/**
 * The blocking fetch (apps/worker batching/blocking-fetch.ts): an idle worker's wait for a job
 * also takes the job. Seen with Redis's MONITOR: the job's `moveToActive` script comes from the
 * connection that was blocked on the queue's marker, right behind its `BZPOPMIN`, instead of
 * from the worker's other connection after a round trip; with `WORKER_BLOCKING_FETCH=false`
 * it comes from the other one (BullMQ's own fetch). The job's times stay true: the script
 * stamps it with the time the wait began, which no view shows.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { call, Cluster, rows } from '../src/harness/index.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const job = (seed: number) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }] });

interface Seen {
  source: string;
  args: string[];
}

/** The commands Redis ran while `during` ran. */
async function monitored(redis: Redis, during: () => Promise<void>): Promise<Seen[]> {
  const monitor = await redis.monitor();
  const seen: Seen[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, args }));
  try {
    await during();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    monitor.disconnect();
  }
  return seen;
}

/** BullMQ's moveToActive: an EVALSHA of 11 keys, the last the queue's marker. */
const isMoveToActive = (c: Seen) => c.args[0]?.toLowerCase() === 'evalsha' && c.args[2] === '11' && c.args[13]?.endsWith(':marker') === true;
const isBzpopmin = (c: Seen) => c.args[0]?.toLowerCase() === 'bzpopmin';

/** One job sent to an idle worker; which connections waited and fetched, and the job object. */
async function oneJobToAnIdleWorker(env: Record<string, string>) {
  cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp', ...env } });
  for (let i = 0; i < 3; i++) expect((await call(cluster.url, 'POST', '/v1/jobs', job(i), { Prefer: 'wait=30' })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 500)); // idle: the worker is blocked on the marker
  const redis = cluster.redisClient();
  let answer: { status: number; body: any } | undefined;
  try {
    const seen = await monitored(redis, async () => {
      answer = await call(cluster!.url, 'POST', '/v1/jobs', job(7), { Prefer: 'wait=30' });
    });
    return { seen, answer: answer! };
  } finally {
    redis.disconnect();
  }
}

describe('blocking fetch', () => {
  it("an idle worker's wait takes the job: moveToActive comes from the blocked connection, behind its BZPOPMIN", async () => {
    const started = Date.now();
    const { seen, answer } = await oneJobToAnIdleWorker({});
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('succeeded');
    const fetches = seen.filter(isMoveToActive);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    const blocked = new Set(seen.filter(isBzpopmin).map((c) => c.source));
    // The fetch that took the job: the first one after the job was added.
    expect(blocked.has(fetches[0]!.source)).toBe(true);
    // Its times: started no earlier than created, and queue_ms what they say.
    const created = Date.parse(answer.body.created_at);
    const begun = Date.parse(answer.body.started_at);
    const completed = Date.parse(answer.body.completed_at);
    expect(created).toBeGreaterThanOrEqual(started);
    expect(begun).toBeGreaterThanOrEqual(created);
    expect(completed).toBeGreaterThanOrEqual(begun);
    expect(answer.body.metrics.queue_ms).toBeGreaterThanOrEqual(0);
    expect(answer.body.metrics.queue_ms).toBeLessThan(1000);
    // Read back from Redis (no completion event to answer from): the same times.
    const again = await call(cluster!.url, 'GET', `/v1/jobs/${answer.body.id}`);
    expect(again.body.started_at).toBe(answer.body.started_at);
  });

  it('with WORKER_BLOCKING_FETCH=false the job is fetched by BullMQ: moveToActive from the other connection', async () => {
    const { seen, answer } = await oneJobToAnIdleWorker({ WORKER_BLOCKING_FETCH: 'false' });
    expect(answer.body.status).toBe('succeeded');
    const fetches = seen.filter(isMoveToActive);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    const blocked = new Set(seen.filter(isBzpopmin).map((c) => c.source));
    expect(blocked.size).toBeGreaterThanOrEqual(1);
    expect(blocked.has(fetches[0]!.source)).toBe(false);
  });
});
