/**
 * Every request ends, and no upload outlives its reader (issue 13): an upload aborted by its
 * client, one whose client stops sending (the server's idle timeout), and one whose API process
 * is SIGKILLed mid-way all leave no batch and no queued chunk behind; a client that goes away
 * during a results download ends the handler.
 */
import http from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, queuedInferenceJobs, storedBatches } from '../src/harness/index.js';

let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  // No worker until the download test: chunks an upload left behind would stay queued.
  cluster = await Cluster.start({
    workers: 0,
    api: { UPLOAD_LEASE_S: '2', IDLE_TIMEOUT_S: '3', MAX_WAIT_S: '1', INFER_TIMEOUT_S: '2' },
  });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** `n` lines for the `fixed` model, which cannot batch: each line is a chunk of its own. */
const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => `{"custom_id":"f${i}","inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[${i % 7},1,2,3,4,5]},{"name":"y","datatype":"INT32","shape":[2,3],"data":[1,2,3,4,5,6]}]}\n`).join('');

/** A chunked upload kept open: the test decides when (and whether) it ends. */
function openUpload(path = '/v1/batches?model=fixed') {
  const u = new URL(cluster.url);
  const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } });
  const closed = new Promise<string>((resolve) => {
    req.on('response', (res) => resolve(`answered ${res.statusCode}`));
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.on('close', () => resolve('closed'));
  });
  return { req, closed };
}

const nothingLeft = async (what: string) => {
  await eventually(async () => ({ queued: await queuedInferenceJobs(redis), batches: await storedBatches(redis), uploads: await redis.zcard('maas:uploads') }),
    (s) => s.queued === 0 && s.batches.length === 0 && s.uploads === 0, { ms: 15_000, what, context: () => cluster.logs() });
};

describe('uploads that do not finish', () => {
  it('a client that aborts mid-upload leaves no batch and no queued chunk', async () => {
    const { req, closed } = openUpload();
    req.write(lines(300));
    await eventually(() => queuedInferenceJobs(redis), (n) => n >= 3, { what: 'chunks queued while the upload runs' });
    req.destroy();
    await closed;
    await nothingLeft('the aborted upload to be withdrawn');
  });

  it('an upload whose client stops sending is cut by the idle timeout and withdrawn', async () => {
    const { req, closed } = openUpload();
    req.write(lines(200));
    await eventually(() => queuedInferenceJobs(redis), (n) => n >= 2, { what: 'chunks queued' });
    const started = Date.now();
    expect(await closed).toMatch(/^(error|closed)/); // the server hangs up (IDLE_TIMEOUT_S=3)
    expect(Date.now() - started).toBeLessThan(10_000);
    await nothingLeft('the stalled upload to be withdrawn');
    req.destroy();
  });

  it('an API SIGKILLed mid-upload: the next API sweeps the upload (lease expired) with its chunks', async () => {
    const { req, closed } = openUpload();
    req.write(lines(300));
    await eventually(() => queuedInferenceJobs(redis), (n) => n >= 3, { what: 'chunks queued' });
    expect(await storedBatches(redis)).toHaveLength(1);
    await cluster.api.stop('SIGKILL');
    await closed;
    await cluster.startApi();
    await nothingLeft('the dead API\'s upload to be swept');
    // The sweeper logs once the lease is gone from Redis: the line may reach us a moment later.
    await cluster.api.waitFor(/lease expired\): removed with its chunks/, 5_000);
  });

  it('an API SIGKILLed after marking its upload uploaded, before listing it: the next API finishes it (listed, run, completed), never strands it', async () => {
    await cluster.api.stop();
    await cluster.startApi({ MAAS_TEST_DIE_AT: 'upload-marked' });
    const { req, closed } = openUpload();
    req.end(lines(5));
    expect(await closed).toMatch(/^(error|closed)/); // the API died before answering
    expect(await cluster.api.exit()).toBeNull();
    const [id] = await storedBatches(redis);
    await cluster.startApi({ MAAS_TEST_DIE_AT: '' });
    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    try {
      const done = await eventually(() => call(cluster.url, 'GET', `/v1/batches/${id}`), (r) => r.status === 200 && r.body.completed_at !== null, { ms: 20_000, what: 'the batch to be finished and complete', context: () => cluster.logs() });
      expect(done.body).toMatchObject({ status: 'succeeded', counts: { total: 5, succeeded: 5, failed: 0 } });
      // listed once its lease runs out (UPLOAD_LEASE_S): the sweeper finishes what the dead API did not
      await eventually(async () => (await call(cluster.url, 'GET', '/v1/batches')).body.data.map((b: { id: string }) => b.id) as string[], (ids) => ids.includes(id!), { ms: 10_000, what: 'the batch to be listed' });
      expect(await redis.zcard('maas:uploads')).toBe(0);
      expect(cluster.api.log).toMatch(/listed and completed here/);
    } finally {
      await cluster.stopWorker(worker);
    }
  });
});

describe('an upload refused after 100,000 chunks', () => {
  it('is answered 429 and withdrawn whole, the API up (its chunk keys go in DELs of 2,000: one DEL of 60,000 keys overflows ioredis\'s stack when auto-pipelined, and the error escapes)', async () => {
    // A cluster of its own: the queue's depth limit is the refusal, and no idle timeout of 3 s.
    const own = await Cluster.start({ workers: 0, api: { MAX_QUEUE_DEPTH: '100000' } });
    const r = own.redisClient();
    try {
      const res = await fetch(`${own.url}/v1/batches?model=fixed`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines(100_010) });
      expect(res.status).toBe(429);
      expect(((await res.json()) as { type: string }).type).toBe('urn:maas:problem:queue-full');
      await eventually(async () => (await queuedInferenceJobs(r)) + (await storedBatches(r)).length, (n) => n === 0, { ms: 60_000, what: 'the refused upload withdrawn' });
      expect(await r.keys('maas:{b-*')).toEqual([]);
      expect(own.api.child.exitCode).toBeNull();
    } finally {
      r.disconnect();
      await own.stop();
    }
  }, 180_000);

  it('an upload of more chunks than MAX_QUEUE_DEPTH, which a worker runs as they come,, is not refused for its own total', async () => {
    // 700 one-line chunks sent over 7 s, 25 every 250 ms, with a depth limit of 400 and a worker
    // draining them: what waits never nears 400 (the API once counted every chunk the upload
    // had queued, run or not, and refused it at the 400th).
    const own = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'fixed' }, api: { MAX_QUEUE_DEPTH: '400' } });
    try {
      await eventually(async () => (await call(own.url, 'GET', '/v2/models/fixed/ready')).status, (s) => s === 200, { what: 'fixed ready' });
      const all = lines(700);
      const pieces = all.split('\n').filter(Boolean);
      async function* slowly() {
        for (let i = 0; i < pieces.length; i += 25) {
          yield Buffer.from(pieces.slice(i, i + 25).join('\n') + '\n');
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      const res = await fetch(`${own.url}/v1/batches?model=fixed`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ReadableStream.from(slowly()), duplex: 'half' } as RequestInit);
      const batch = (await res.json()) as { id: string; counts: { total: number } };
      expect(res.status, JSON.stringify(batch)).toBe(202);
      const done = (await call(own.url, 'GET', `/v1/batches/${batch.id}?wait=30`)).body;
      expect(done).toMatchObject({ status: 'succeeded', counts: { total: 700, succeeded: 700, failed: 0 } });
    } finally {
      await own.stop();
    }
  }, 60_000);
});

describe('downloads that do not finish', () => {
  it('a client that goes away during a results download ends the handler', async () => {
    await cluster.startWorker({ WORKER_MODELS: 'penguins' });
    // ~30 MB of results: long custom ids come back in every result line.
    const pad = 'x'.repeat(10_000);
    const body = Array.from({ length: 3000 }, (_, i) => `{"custom_id":"${pad}${i}","inputs":{"features":[1,2,3,4]}}\n`).join('');
    const created = (await (await fetch(`${cluster.url}/v1/batches?model=penguins`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })).json()) as { id: string };
    await eventually(async () => (await (await fetch(`${cluster.url}/v1/batches/${created.id}`)).json()) as { status: string }, (b) => b.status === 'succeeded', { ms: 60_000, what: 'the batch to complete' });

    const u = new URL(cluster.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: u.hostname, port: u.port, path: `/v1/batches/${created.id}/results` }, (res) => {
        res.once('data', () => {
          res.pause(); // read one piece, then stop: the server's writes back up until it waits for 'drain'
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 1000);
        });
      });
      req.on('error', (err) => (err.message.includes('socket hang up') || err.message.includes('aborted') ? undefined : reject(err)));
    });
    await cluster.api.waitFor(/results download ended early: the client went away/, 10_000);
    // The API still serves, and a full download still works.
    const full = await (await fetch(`${cluster.url}/v1/batches/${created.id}/results`)).text();
    expect(full.trim().split('\n')).toHaveLength(3000);
  });
});
