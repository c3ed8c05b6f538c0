/**
 * MissedFailures on a real redis-server and BullMQ: the webhook and batch jobs BullMQ failed
 * since the last look are handed to the ledger once each; jobs with neither, jobs failed
 * within the grace period and jobs already looked at are not.
 */
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, PREFIX, startRedisServer, type InferenceJobData, type RedisServer } from '@maas/shared';
import { MissedFailures } from '../src/ledger/missed-failures.js';

let server: RedisServer;
let redis: Redis;
let queue: Queue;
let worker: Worker;
const QUEUE = '{missed-test}';

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE, { connection: redis, prefix: PREFIX });
  worker = new Worker(QUEUE, null, { connection: new Redis(server.url, { maxRetriesPerRequest: null }), prefix: PREFIX, lockDuration: 60_000 });
});
afterAll(async () => {
  await worker?.close(true);
  await queue?.close();
  redis?.disconnect();
  await server?.stop();
});

/** A job taken and failed for good, as BullMQ's stall limit would. */
async function failOne(data: Partial<InferenceJobData>): Promise<string> {
  await queue.add('infer', { model: 'm', version: 1, tenant: 't', rows: 1, ...data });
  const job = await worker.getNextJob('token');
  await job!.moveToFailed(new Error('job stalled more than allowable limit'), 'token', false);
  return job!.id!;
}

describe('MissedFailures', () => {
  it('hands each failed webhook or batch job to the ledger once, after the grace period', async () => {
    const recorded: string[] = [];
    const missed = new MissedFailures({
      queueName: QUEUE,
      redis,
      fetch: async (id) => (await Job.fromId(queue, id)) as never,
      record: async (job) => void recorded.push(job.id!),
      log: createLogger('test', 'silent'),
    }, { periodMs: 1000, graceMs: 1500, lookbackMs: 60_000 });
    const hooked = await failOne({ webhook: { url: 'https://example.com/h', events: ['completed'] } });
    const chunk = await failOne({ batch: { id: 'bat_1', chunk: 0, lines: 1, retentionSeconds: 60 } });
    await failOne({});
    expect(await missed.look()).toBe(0); // still within the grace period: left to their own worker
    await new Promise((r) => setTimeout(r, 1600));
    expect(await missed.look()).toBe(2);
    expect(recorded.sort()).toEqual([hooked, chunk].sort());
    expect(await missed.look()).toBe(0); // looked at already
    const later = await failOne({ webhook: { url: 'https://example.com/h', events: ['completed'] } });
    await new Promise((r) => setTimeout(r, 1600));
    expect(await missed.look()).toBe(1);
    expect(recorded.at(-1)).toBe(later);
  });
});
