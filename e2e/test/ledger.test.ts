/**
 * One ledger (issue 13): every ending of a job or batch is recorded once, with its webhook
 * events in the same atomic Redis step (a transactional outbox), and a sweeper in every worker
 * delivers what a crashed process left pending. Each test kills a process (SIGKILL, through
 * the MAAS_TEST_DIE_AT hook) at the worst moment, then checks that every event still arrives,
 * exactly once, under one webhook-id, and that each job has exactly one terminal state.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { batchKeys, bullFailedKey, bullJobKey, chunkJobId, inferenceQueueName } from '@maas/shared';
import { call, Cluster, eventually, modelRepository, rows, WebhookReceiver, type Received } from '../src/harness/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

const WORKER_ENV = { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true', WORKER_LOCK_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', WEBHOOK_RETRY_SCHEDULE: '1s,1s' };

/** A cluster (no worker started) whose mlp batcher holds what it fetched for `holdMs` before running it. */
async function clusterHolding(holdMs: number, apiEnv: Record<string, string> = {}) {
  const repo = await modelRepository({ mlp: { max_queue_delay_ms: holdMs, preferred_batch_sizes: [1024] } });
  const cluster = await Cluster.start({ models: repo.dir, workers: 0, api: { WEBHOOK_ALLOW_PRIVATE: 'true', ...apiEnv }, worker: WORKER_ENV });
  const receiver = await WebhookReceiver.start();
  cleanups.push(async () => {
    await receiver.close();
    await cluster.stop();
    await repo.remove();
  });
  return { cluster, receiver };
}

const parsed = (r: Received) => JSON.parse(r.body) as { type: string; data: { id: string; status: string } };
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an ending recorded just before its process dies', () => {
  it("a worker killed right after recording a batch's last chunk still yields exactly one batch.completed", async () => {
    const { cluster, receiver } = await clusterHolding(1000);
    const doomed = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'batch-completed' });
    const body = rows(7, 3, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp&webhook=${encodeURIComponent(receiver.url)}`, {
      method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string };
    expect(await doomed.exit()).toBeNull(); // killed by the hook, after the record
    const done = await call(cluster.url, 'GET', `/v1/batches/${batch.id}`);
    expect(done.body.status).toBe('succeeded');
    expect(receiver.received).toHaveLength(0);
    await cluster.startWorker(); // its sweeper finds the pending batch.completed
    const [event] = await receiver.until((all) => all.length >= 1, 30_000, 'batch.completed after the crash');
    expect(parsed(event!)).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'succeeded' } });
    await settle(1500);
    expect(receiver.received).toHaveLength(1);
  });

  it("the API killed right after recording a queued job's cancel still yields its job.completed (canceled), once", async () => {
    const { cluster, receiver } = await clusterHolding(5, { MAAS_TEST_DIE_AT: 'cancel-recorded' });
    await cluster.startWorker(); // serves mlp only: a penguins job stays queued
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [[39.1, 18.7, 181, 3750]] }], webhook: receiver.url,
    });
    expect(c.status).toBe(202);
    await call(cluster.url, 'POST', `/v1/jobs/${c.body.id}/cancel`).catch(() => null); // the API dies answering
    expect(await cluster.api.exit()).toBeNull();
    await cluster.startApi({ MAAS_TEST_DIE_AT: '' });
    expect((await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`)).body.status).toBe('canceled');
    const [event] = await receiver.until((all) => all.length >= 1, 30_000, 'job.completed after the crash');
    expect(parsed(event!)).toMatchObject({ type: 'job.completed', data: { id: c.body.id, status: 'canceled' } });
    await settle(1500);
    expect(receiver.received).toHaveLength(1);
  });

  it("a worker killed right after recording a job's ending: the job ends once, and its job.completed keeps one webhook-id, also when sent twice", async () => {
    const { cluster, receiver } = await clusterHolding(5);
    receiver.answer = (_r, n) => (n < 1 ? { status: 500 } : { status: 200 }); // the first attempt fails: sent again
    const doomed = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'job-ended' });
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(3, 1, 32) }], webhook: receiver.url, webhook_events_filter: ['completed'],
    });
    expect(c.status).toBe(202);
    expect(await doomed.exit()).toBeNull();
    await cluster.startWorker();
    const job = await eventually(() => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`), (r) => r.body.status === 'succeeded', { ms: 30_000, what: 'the job to end' });
    const [first, second] = await receiver.until((all) => all.length >= 2, 30_000, 'job.completed, twice');
    expect(parsed(first!)).toMatchObject({ type: 'job.completed', data: { id: c.body.id, status: 'succeeded', outputs: job.body.outputs } });
    expect(second).toMatchObject({ id: first!.id, body: first!.body });
    await settle(1500);
    expect(receiver.received).toHaveLength(2);
  });
});

describe('a run after a crash that followed a recorded completion', () => {
  it('settles with the recorded result: the job reads as its job.completed said, even past its timeout_ms (not expired, not the second run\'s)', async () => {
    const { cluster, receiver } = await clusterHolding(5);
    const doomed = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'job-ended' });
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: rows(7, 2, 32) }], webhook: receiver.url,
      webhook_events_filter: ['completed'], timeout_ms: 1000,
    });
    expect(c.status).toBe(202);
    expect(await doomed.exit()).toBeNull();
    await settle(1500); // past its timeout_ms: the next run finds it expired
    await cluster.startWorker();
    const [event] = await receiver.until((all) => all.length >= 1, 30_000, 'job.completed');
    const sent = parsed(event!).data as Record<string, unknown>;
    expect(sent).toMatchObject({ id: c.body.id, status: 'succeeded' });
    const job = await eventually(() => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`), (r) => r.body.completed_at !== null, { ms: 30_000, what: 'the job to end' });
    for (const field of ['status', 'started_at', 'completed_at', 'outputs', 'error', 'metrics'] as const) expect(job.body[field], field).toEqual(sent[field]);
    await settle(1500);
    expect((await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`)).body.status).toBe('succeeded'); // and it stays so
    expect(receiver.received).toHaveLength(1);
  });

  it("a batch chunk whose input went with its recorded outcome completes in BullMQ as recorded, not failed as canceled", async () => {
    // What a Redis restart from an append-only file that ends between the two leaves: the
    // chunk's outcome recorded and its input bytes removed, BullMQ's completion lost. The worker
    // dies right after the record (the hook), and the test removes the input as that worker
    // would have next.
    const { cluster, receiver } = await clusterHolding(1000);
    const doomed = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'batch-completed' });
    const body = rows(5, 3, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp&webhook=${encodeURIComponent(receiver.url)}`, {
      method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string };
    expect(await doomed.exit()).toBeNull();
    const redis = cluster.redisClient();
    cleanups.push(async () => redis.disconnect());
    const chunkId = chunkJobId(batch.id, 0);
    const queue = inferenceQueueName('mlp', 1);
    expect(await redis.unlink(batchKeys(batch.id).input(0))).toBe(1);
    expect(await redis.exists(bullJobKey(queue, chunkId))).toBe(1);
    await cluster.startWorker();
    // A chunk's job is removed once completed (its outputs are with its batch); a failed one stays.
    await eventually(() => redis.exists(bullJobKey(queue, chunkId)), (n) => n === 0, { ms: 30_000, what: 'BullMQ to complete the chunk' });
    expect(await redis.zscore(bullFailedKey(queue), chunkId)).toBeNull();
    const done = await call(cluster.url, 'GET', `/v1/batches/${batch.id}`);
    expect(done.body).toMatchObject({ status: 'succeeded', counts: { total: 3, succeeded: 3, failed: 0 } });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; outputs?: unknown; error?: unknown });
    expect(results.map((r) => [r.custom_id, r.outputs !== undefined, r.error])).toEqual([['r0', true, undefined], ['r1', true, undefined], ['r2', true, undefined]]);
    await receiver.until((all) => all.length >= 1, 30_000, 'batch.completed');
  });
});

describe('a recorded completion that BullMQ then fails on its own (stall limit)', () => {
  it('reads as the ledger recorded it, as its job.completed said, not as BullMQ\'s worker-lost', async () => {
    const { cluster, receiver } = await clusterHolding(5);
    const doomed = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'job-ended' });
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(11, 1, 32) }], webhook: receiver.url, webhook_events_filter: ['completed'],
    });
    expect(c.status).toBe(202);
    expect(await doomed.exit()).toBeNull(); // its completion recorded, the job never settled
    // BullMQ fails the job on its own, as its stall limit does once workers have died on it too
    // often: a processor of the test's that ends it with BullMQ's own words.
    const connection = new Redis(cluster.redis.url, { maxRetriesPerRequest: null });
    const bull = new Worker('{infer-mlp-v1}', async () => {
      throw new UnrecoverableError('job stalled more than allowable limit');
    }, { connection, prefix: 'maas', stalledInterval: 500, lockDuration: 2000 });
    cleanups.push(async () => {
      await bull.close();
      connection.disconnect();
    });
    const redis = cluster.redisClient();
    await eventually(() => redis.zscore('maas:{infer-mlp-v1}:failed', c.body.id), (score) => score !== null, { ms: 30_000, what: 'BullMQ to fail the job' });
    redis.disconnect();
    await bull.close();
    await cluster.startWorker(); // its outbox sweeper sends the job.completed the dead worker recorded
    const [event] = await receiver.until((all) => all.length >= 1, 30_000, 'job.completed');
    const sent = parsed(event!).data as Record<string, unknown>;
    expect(sent).toMatchObject({ id: c.body.id, status: 'succeeded' });
    const job = await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`);
    for (const field of ['status', 'started_at', 'completed_at', 'outputs', 'error', 'metrics'] as const) expect(job.body[field], field).toEqual(sent[field]);
  });
});

describe('exactly one terminal state', () => {
  it('jobs canceled while a worker runs them: each ends once, and its one job.completed says how', async () => {
    const { cluster, receiver } = await clusterHolding(2);
    await cluster.startWorker();
    const hooked = (seed: number) => ({
      model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }], webhook: receiver.url, webhook_events_filter: ['completed'],
    });
    const ids = await Promise.all(Array.from({ length: 120 }, async (_, i) => {
      const c = await call(cluster.url, 'POST', '/v1/jobs', hooked(i));
      expect(c.status).toBe(202);
      await settle(i % 7);
      await call(cluster.url, 'POST', `/v1/jobs/${c.body.id}/cancel`);
      return c.body.id as string;
    }));
    const final = new Map<string, string>();
    for (const id of ids) {
      const r = await eventually(() => call(cluster.url, 'GET', `/v1/jobs/${id}`), (x) => ['succeeded', 'failed', 'canceled'].includes(x.body.status), { ms: 30_000, what: `job ${id} to end` });
      final.set(id, r.body.status);
    }
    await receiver.until((all) => new Set(all.map((r) => r.id)).size >= ids.length, 30_000, 'one job.completed per job');
    await settle(1500);
    const bySubject = new Map<string, Received[]>();
    for (const r of receiver.received) bySubject.set(parsed(r).data.id, [...(bySubject.get(parsed(r).data.id) ?? []), r]);
    const mismatched = ids.filter((id) => bySubject.get(id)?.length !== 1 || parsed(bySubject.get(id)![0]!).data.status !== final.get(id));
    console.log(`cancel racing completion: ${ids.length} jobs, ${[...final.values()].filter((s) => s === 'canceled').length} canceled, ${mismatched.length} with an event that disagrees or is missing/doubled`);
    expect(mismatched).toEqual([]);
    // the state read again later is the same one (nothing settles a second time)
    for (const id of ids.slice(0, 20)) expect((await call(cluster.url, 'GET', `/v1/jobs/${id}`)).body.status).toBe(final.get(id));
  });
});
