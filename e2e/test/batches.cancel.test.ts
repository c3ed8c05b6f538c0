/**
 * A canceled batch whose chunk's worker died ends, with no live worker for its model: the API
 * ends the chunks a dead worker held once that worker's liveness has run out
 * (services/canceled-batches.ts), whether the worker died before the cancel or after it. The
 * batch gets its completed_at, counts that add up, and one batch.completed; a worker frozen
 * past its liveness that comes back finds the chunk ended, and its own ending changes nothing.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullJobKey, bullLockKey, chunkJobId, inferenceQueueName } from '@maas/shared';
import { call, Cluster, eventually, modelRepository, rows, WebhookReceiver, type Received } from '../src/harness/index.js';

// The worker holds a short chunk in its batch window for 20 s (it waits for 1,024 rows), and
// runs a full one at once: a batch of 8,195 lines is a chunk that succeeds and one held.
const HOLD_MS = 20_000;
const LINES = 8195;
const QUEUE = inferenceQueueName('mlp', 1);
/** WORKER_ALIVE_TTL_MS (3 s) + a sweep and a look (1 s each) + room for a loaded machine; the lock (WORKER_LOCK_MS) is 30 s */
const ENDS_WITHIN_MS = 12_000;

let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };
let receiver: WebhookReceiver;
let redis: Redis;

beforeAll(async () => {
  repo = await modelRepository({ mlp: { max_queue_delay_ms: HOLD_MS, preferred_batch_sizes: [1024] } });
  receiver = await WebhookReceiver.start();
  cluster = await Cluster.start({ models: repo.dir, workers: 0, api: { WEBHOOK_ALLOW_PRIVATE: 'true' }, worker: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
  await receiver?.close();
  await repo?.remove();
});

const body = (seed: number) => rows(seed, LINES, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');

async function submit(seed: number): Promise<string> {
  const res = await fetch(`${cluster.url}/v1/batches?model=mlp&webhook=${encodeURIComponent(receiver.url)}`, {
    method: 'POST', body: body(seed), headers: { 'content-type': 'application/x-ndjson' },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const get = async (id: string) => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body;

/** The worker holds the batch's second chunk: its job is active, locked, by that worker, and the first chunk's lines succeeded. */
async function holding(id: string, workerId: string): Promise<void> {
  const job = bullJobKey(QUEUE, chunkJobId(id, 1));
  await eventually(async () => ({
    active: await redis.lrange(`maas:${QUEUE}:active`, 0, -1),
    by: await redis.hget(job, 'pb'),
    locked: await redis.exists(bullLockKey(QUEUE, chunkJobId(id, 1))),
    batch: await get(id),
  }), (s) => s.active.includes(chunkJobId(id, 1)) && s.by === workerId && s.locked === 1 && s.batch.counts.succeeded === 8192, { ms: 30_000, what: 'the worker to hold the second chunk' });
}

/** Resolves with the batch once it has completed, and how long after `since` that was seen. */
async function ended(id: string, since: number): Promise<{ batch: any; ms: number }> {
  const batch = await eventually(() => get(id), (b) => b.completed_at !== null, { ms: 30_000, every: 100, what: `batch ${id} to end` });
  return { batch, ms: Date.now() - since };
}

function expectCanceledEnd(batch: any): void {
  expect(batch).toMatchObject({ status: 'canceled', counts: { total: LINES, succeeded: 8192, failed: 3 }, completed_at: expect.any(String) });
}

async function expectResults(id: string): Promise<void> {
  const res = await fetch(`${cluster.url}/v1/batches/${id}/results?failed=true`);
  expect(res.status).toBe(200);
  const failed = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; error: { type: string } });
  expect(failed.map((l) => [l.custom_id, l.error.type])).toEqual([['r8192', 'canceled'], ['r8193', 'canceled'], ['r8194', 'canceled']]);
}

const events = (id: string) => receiver.received.filter((r: Received) => (JSON.parse(r.body) as { data: { id: string } }).data.id === id);

describe('a canceled batch whose chunk\'s worker died, no live worker serving its model', () => {
  const ids: string[] = [];

  it('a worker killed before the cancel: the batch ends within the liveness TTL and a sweep', async () => {
    const w = await cluster.startWorker({ WORKER_MODELS: 'mlp' });
    const id = await submit(41);
    ids.push(id);
    await holding(id, w.name);
    await cluster.stopWorker(w, 'SIGKILL');
    expect(cluster.workers).toHaveLength(0);
    const canceledAt = Date.now();
    const c = await call(cluster.url, 'POST', `/v1/batches/${id}/cancel`);
    expect(c.body).toMatchObject({ status: 'canceled', completed_at: null }); // its held chunk has no outcome yet
    const { batch, ms } = await ended(id, canceledAt);
    console.log(`canceled batch, worker killed before the cancel: ended ${ms} ms after the cancel`);
    expect(ms).toBeLessThan(ENDS_WITHIN_MS);
    expectCanceledEnd(batch);
    await expectResults(id);
    // The withdrawn chunk's job is gone: nothing is left for a worker to take up.
    expect(await redis.exists(bullJobKey(QUEUE, chunkJobId(id, 1)))).toBe(0);
  });

  it('a worker killed after the cancel: the batch waits for it while it lives, and ends once it is dead', async () => {
    const w = await cluster.startWorker({ WORKER_MODELS: 'mlp' });
    const id = await submit(42);
    ids.push(id);
    await holding(id, w.name);
    const c = await call(cluster.url, 'POST', `/v1/batches/${id}/cancel`);
    expect(c.body).toMatchObject({ status: 'canceled', completed_at: null });
    await new Promise((r) => setTimeout(r, 2500)); // the API's sweeps leave a live worker's chunk alone
    expect(await get(id)).toMatchObject({ status: 'canceled', completed_at: null });
    expect(await redis.exists(bullLockKey(QUEUE, chunkJobId(id, 1)))).toBe(1);
    const killedAt = Date.now();
    await cluster.stopWorker(w, 'SIGKILL');
    const { batch, ms } = await ended(id, killedAt);
    console.log(`canceled batch, worker killed after the cancel: ended ${ms} ms after the kill`);
    expect(ms).toBeLessThan(ENDS_WITHIN_MS);
    expectCanceledEnd(batch);
    await expectResults(id);
  });

  it('a worker frozen past its liveness (SIGSTOP) that comes back: the chunk the API ended stays ended, the worker\'s own ending of it comes second and changes nothing', async () => {
    const w = await cluster.startWorker({ WORKER_MODELS: 'mlp' });
    const id = await submit(43);
    ids.push(id);
    await holding(id, w.name);
    const fetchedBy = Date.now(); // the chunk leaves the worker's window HOLD_MS after it took it, at the latest
    const c = await call(cluster.url, 'POST', `/v1/batches/${id}/cancel`);
    expect(c.body).toMatchObject({ status: 'canceled', completed_at: null });
    w.child.kill('SIGSTOP');
    const { batch } = await ended(id, Date.now());
    expectCanceledEnd(batch);
    w.child.kill('SIGCONT');
    // Back, it beats again, and at its window's end runs the chunk's cancel check and records its
    // ending, which the ledger refuses (the API's came first); its settle finds the job gone.
    await new Promise((r) => setTimeout(r, Math.max(0, fetchedBy + HOLD_MS + 3000 - Date.now())));
    expect(w.child.exitCode).toBeNull();
    expect(w.log).toContain(`Missing key for job ${chunkJobId(id, 1)}`); // it ran the chunk and settled it: BullMQ found the job withdrawn
    expect(await get(id)).toEqual(batch);
    expect(await redis.exists(bullJobKey(QUEUE, chunkJobId(id, 1)))).toBe(0);
    await expectResults(id);
    await cluster.stopWorker(w, 'SIGKILL');
  });

  it('each batch.completed goes out once (delivered by a worker of another model: webhooks go through the workers)', async () => {
    expect(ids).toHaveLength(3);
    await cluster.startWorker({ WORKER_MODELS: 'penguins' });
    await receiver.until(() => ids.every((id) => events(id).length >= 1), 30_000, 'a batch.completed for each batch');
    await new Promise((r) => setTimeout(r, 2000));
    for (const id of ids) {
      const [event, ...more] = events(id);
      expect(more).toHaveLength(0);
      expect(JSON.parse(event!.body)).toMatchObject({ type: 'batch.completed', data: { id, status: 'canceled', counts: { total: LINES, succeeded: 8192, failed: 3 } } });
    }
  });
});
