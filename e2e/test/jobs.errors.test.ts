/**
 * Bad input never reaches the queue and never produces a 5xx: every kind of invalid request in
 * CONTRACT §4 gets its 4xx as problem+json, and the queues stay empty. Auth with two tenants.
 */
import { request as httpRequest } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually } from '../src/harness/index.js';

const A = { Authorization: 'Bearer key-a' };
const B = { Authorization: 'Bearer key-b' };
const ADMIN = 'admin-key-0123456789abcdef';
let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  // No worker for mlp: whatever got queued would stay visible in its queue.
  cluster = await Cluster.start({
    workers: 1,
    api: { API_KEYS: 'alpha:key-a,beta:key-b', ADMIN_KEY: ADMIN, MAX_BODY_MB: '1', MAX_QUEUE_DEPTH: '3' },
    worker: { WORKER_MODELS: 'penguins,fixed' },
  });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const mlp = (tensor: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: 'mlp',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array(32).fill(0.5), ...tensor }],
  ...extra,
});

/** Job hashes and job index entries in Redis: what any accepted job leaves behind. */
async function storedJobs(): Promise<number> {
  const hashes = await redis.keys('maas:{infer-*}:job_*');
  const index = await redis.keys('maas:job:*');
  return hashes.length + index.length;
}

function expectProblem(r: { status: number; headers: Headers; body: any }, status: number, type: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ type: `urn:maas:problem:${type}`, status, title: expect.any(String), detail: expect.any(String) });
}

describe('invalid input → 400, nothing queued', () => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown input name', mlp({ name: 'pixels' }), /unknown input 'pixels'/],
    ['wrong datatype', mlp({ datatype: 'INT32', data: Array(32).fill(1) }), /is FP32, not INT32/],
    ['wrong rank', mlp({ shape: [32] }), /dimensions/],
    ['wrong fixed dimension', mlp({ shape: [1, 31], data: Array(31).fill(0) }), /dimension 1/],
    ['data length differs from shape', mlp({ data: Array(31).fill(0) }), /31 elements/],
    ['non-numeric value', mlp({ data: [...Array(31).fill(0), 'x'] }), /data\[31\]/],
    ['zero rows', mlp({ shape: [0, 32], data: [] }), /at least 1/],
    ['nested data of the wrong shape', mlp({ shape: [2, 32], data: [Array(32).fill(0), Array(3).fill(0)] }), /3 elements/],
    ['missing input', { model: 'fixed', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] }, /missing input 'y'/],
    ['fixed-batch model given another batch size', { model: 'fixed', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }, { name: 'y', datatype: 'INT32', shape: [1, 3], data: [1, 2, 3] }] }, /dimension 0/],
    ['integer out of range', { model: 'fixed', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 2, 3, 4, 5, 2 ** 40] }] }, /data\[5\]/],
    ['unknown output', mlp({}, { outputs: [{ name: 'nope' }] }), /unknown output/],
    ['classification k of 0', mlp({}, { outputs: [{ name: 'output', parameters: { classification: 0 } }] }), /classification/],
    ['unknown datatype', mlp({ datatype: 'FP16' }), /datatype/],
    ['no inputs', { model: 'mlp', inputs: [] }, /inputs/],
    ['unknown field', mlp({}, { colour: 'red' }), /colour/],
    ['bad webhook URL', mlp({}, { webhook: 'ftp://example.com/x' }), /webhook/],
    ['bad priority', mlp({}, { priority: -1 }), /priority/],
    ['an events filter without a webhook', mlp({}, { webhook_events_filter: ['completed'] }), /webhook_events_filter.*send webhook too/],
  ];
  for (const [name, body, detail] of cases) {
    it(name, async () => {
      const r = await call(cluster.url, 'POST', '/v1/jobs', body, A);
      expectProblem(r, 400, 'invalid-input');
      expect(r.body.detail).toMatch(detail);
      expect(Array.isArray(r.body.errors)).toBe(true);
    });
  }

  it('the check above counts accepted jobs (so "nothing queued" can fail)', async () => {
    const before = await storedJobs();
    const r = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] }, A);
    expect(r.status).toBe(202);
    await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}?wait=10`, undefined, A);
    expect(await storedJobs()).toBe(before + 2);
    await redis.del(`maas:{infer-penguins-v2}:${r.body.id}`, `maas:job:${r.body.id}`);
  });

  it('malformed JSON', async () => {
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', '{"model": "mlp", ', A), 400, 'malformed-json');
  });

  it('not JSON at all → 415; a form body (curl -d) is read as JSON, and a form is malformed JSON', async () => {
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', 'model,mlp', { ...A, 'content-type': 'text/csv' }), 415, 'unsupported-media-type');
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', 'model=mlp', { ...A, 'content-type': 'application/x-www-form-urlencoded' }), 400, 'malformed-json');
  });

  it('v2 infer with a bad tensor', async () => {
    const r = await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }, A);
    expectProblem(r, 400, 'invalid-input');
  });

  it('too large a body → 413', async () => {
    const data = Array(200_000).fill(0.123456789);
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', mlp({ shape: [6250, 32], data }), A), 413, 'payload-too-large');
  });

  it('none of the above queued anything', async () => {
    expect(await storedJobs()).toBe(0);
  });
});

describe('not found → 404', () => {
  it('unknown model, version, job, route', async () => {
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', { ...mlp({}), model: 'nope' }, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'POST', '/v1/jobs', { ...mlp({}), version: 7 }, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'GET', '/v2/models/nope', undefined, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'GET', '/v2/models/mlp/versions/9', undefined, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'POST', '/v2/models/mlp/versions/abc/infer', { inputs: [] }, A), 400, 'invalid-input');
    expectProblem(await call(cluster.url, 'GET', '/v1/jobs/job_doesnotexist', undefined, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'GET', '/v1/jobs/../../etc', undefined, A), 404, 'not-found');
    expectProblem(await call(cluster.url, 'GET', '/v1/nothing', undefined, A), 404, 'not-found');
  });

  it('a method a served path does not take is a 405 with Allow (a path nothing serves stays a 404)', async () => {
    const del = await call(cluster.url, 'DELETE', '/v1/jobs/job_x', undefined, A);
    expectProblem(del, 405, 'method-not-allowed');
    expect(del.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    const put = await call(cluster.url, 'PUT', '/v2/models/mlp/infer', {}, A);
    expectProblem(put, 405, 'method-not-allowed');
    expect(put.headers.get('allow')).toBe('POST, OPTIONS');
    expect(put.body.error).toMatch(/PUT is not served on \/v2\/models\/mlp\/infer/);
    expectProblem(await call(cluster.url, 'DELETE', '/v1/nothing/at/all', undefined, A), 404, 'not-found');
  });

  it('what no route serves is a 404 or 405 before its key or its body is looked at (not a 400, 413 or 415 about a body no route reads, nor the admin key\'s 403)', async () => {
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      fetch(`${cluster.url}${path}`, { method, headers, body });
    const problem = async (res: Response) => ({ status: res.status, type: ((await res.json()) as { type: string }).type, allow: res.headers.get('allow') });
    const json = { 'content-type': 'application/json' };
    const cases: [string, string, Record<string, string>, string | undefined, number][] = [
      ['POST', '/nope', { ...A, ...json }, '{bad', 404],
      ['DELETE', '/v1/jobs/job_x', { ...A, ...json }, '{bad', 405],
      ['PUT', '/v2/models/mlp', { ...A, 'content-type': 'application/json; charset=latin1' }, '{}', 405],
      ['POST', '/nope', { ...A, ...json, 'content-encoding': 'zstd' }, 'x', 404],
      ['POST', '/nope', { ...A, ...json }, JSON.stringify({ pad: 'x'.repeat(1.5 * 2 ** 20) }), 404], // over MAX_BODY_MB
      ['GET', '/nope', { Authorization: `Bearer ${ADMIN}` }, undefined, 404],
      ['DELETE', '/v2/models/mlp', { Authorization: `Bearer ${ADMIN}` }, undefined, 405],
      ['GET', '/nope', {}, undefined, 404], // no key: nothing here to authenticate for
    ];
    for (const [method, path, headers, body, status] of cases) {
      const p = await problem(await send(method, path, headers, body));
      expect(p, `${method} ${path} ${JSON.stringify(headers)}`).toMatchObject({ status, type: `urn:maas:problem:${status === 404 ? 'not-found' : 'method-not-allowed'}` });
      if (status === 405) expect(p.allow).toContain('GET');
    }
    // A served route still asks for its key first.
    expect((await send('GET', '/v1/jobs/job_x', {})).status).toBe(401);
  });

  it('a client still sending a body no route reads reads its 404 or 401, not a reset connection', async () => {
    // Answered before the body, the connection was closed with the body unread: the client's
    // write met EPIPE and fetch failed without the answer (CI saw it once with 1.5 MB).
    const big = 'x'.repeat(8 * 2 ** 20);
    for (let i = 0; i < 6; i++) {
      const nope = await fetch(`${cluster.url}/nope`, { method: 'POST', headers: { ...A, 'content-type': 'text/plain' }, body: big });
      expect(nope.status).toBe(404);
      expect(nope.headers.get('connection')).toBe('close');
      const unauthenticated = await fetch(`${cluster.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
      expect(unauthenticated.status).toBe(401);
    }
  });

  it('OPTIONS names the methods a 405 on the same path names', async () => {
    for (const path of ['/v1/batches', '/v1/jobs/job_x', '/v2/models/mlp/infer', '/v2/health/live']) {
      const options = await fetch(`${cluster.url}${path}`, { method: 'OPTIONS', headers: A });
      const put = await call(cluster.url, 'PUT', path, {}, A);
      expect(options.status, path).toBe(204);
      expect(put.status, path).toBe(405);
      expect(options.headers.get('allow'), path).toBe(put.headers.get('allow'));
      expect(options.headers.get('allow'), path).toContain('OPTIONS');
    }
    expectProblem(await call(cluster.url, 'OPTIONS', '/v1/nothing/at/all', undefined, A), 404, 'not-found');
  });

  it('a version spelled otherwise than as its digits (01, 1.0, 1e0, 0x1, +1) names none, on every route', async () => {
    const infer = { inputs: mlp({}).inputs };
    for (const v of ['01', '1.0', '1e0', '0x1', '%2B1']) {
      for (const path of [`/v2/models/mlp/versions/${v}`, `/v2/models/mlp/versions/${v}/ready`, `/v2/models/mlp/versions/${v}/config`, `/v2/models/mlp/versions/${v}/stats`]) {
        expectProblem(await call(cluster.url, 'GET', path, undefined, A), 404, 'not-found');
      }
      expectProblem(await call(cluster.url, 'POST', `/v2/models/mlp/versions/${v}/infer`, infer, A), 404, 'not-found');
    }
    expect((await call(cluster.url, 'GET', '/v2/models/mlp/versions/1/config', undefined, A)).status).toBe(200);
  });

  it("another tenant's job is a 404, for reading and cancelling", async () => {
    const r = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] }, A);
    expect(r.status).toBe(202);
    expectProblem(await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}`, undefined, B), 404, 'not-found');
    expectProblem(await call(cluster.url, 'POST', `/v1/jobs/${r.body.id}/cancel`, undefined, B), 404, 'not-found');
    expect((await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}?wait=10`, undefined, A)).body.status).toBe('succeeded');
  });

  it("another tenant's batch is a 404, for status, results and cancel", async () => {
    const res = await fetch(`${cluster.url}/v1/batches?model=penguins`, {
      method: 'POST', headers: { ...A, 'content-type': 'application/x-ndjson' },
      body: '{"inputs": {"features": [39, 18, 181, 3750]}}\n',
    });
    const batch = (await res.json()) as { id: string };
    expect(res.status).toBe(202);
    expectProblem(await call(cluster.url, 'GET', `/v1/batches/${batch.id}`, undefined, B), 404, 'not-found');
    expectProblem(await call(cluster.url, 'GET', `/v1/batches/${batch.id}/results`, undefined, B), 404, 'not-found');
    expectProblem(await call(cluster.url, 'POST', `/v1/batches/${batch.id}/cancel`, undefined, B), 404, 'not-found');
    expect((await call(cluster.url, 'GET', `/v1/batches/${batch.id}`, undefined, A)).status).toBe(200);
  });

  it('Idempotency-Key is per tenant', async () => {
    const body = { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] };
    const a = await call(cluster.url, 'POST', '/v1/jobs', body, { ...A, 'Idempotency-Key': 'same' });
    const b = await call(cluster.url, 'POST', '/v1/jobs', body, { ...B, 'Idempotency-Key': 'same' });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.id).not.toBe(a.body.id);
    // Both end here, so the next test's count of stored jobs does not see them end (and change) under it.
    expect((await call(cluster.url, 'GET', `/v1/jobs/${a.body.id}?wait=10`, undefined, A)).body.status).toBe('succeeded');
    expect((await call(cluster.url, 'GET', `/v1/jobs/${b.body.id}?wait=10`, undefined, B)).body.status).toBe('succeeded');
  });

  it('an Idempotency-Key header sent twice is a 400, not one key made of both (jobs and batch uploads); nothing is queued', async () => {
    const before = await storedJobs();
    const body = JSON.stringify({ model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] });
    const post = (path: string, contentType: string, payload: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(`${cluster.url}${path}`, {
        method: 'POST',
        headers: { Authorization: 'Bearer key-a', 'content-type': contentType, 'Idempotency-Key': ['x1', 'x2'] }, // two header lines
      }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    for (const [path, type, payload] of [['/v1/jobs', 'application/json', body], ['/v1/batches?model=penguins', 'application/x-ndjson', '{"inputs":{"features":[39,18,181,3750]}}\n']] as const) {
      const r = await post(path, type, payload);
      expect(r.status, path).toBe(400);
      expect(r.body).toMatchObject({ type: 'urn:maas:problem:invalid-input', errors: [{ path: 'Idempotency-Key', message: 'sent 2 times: send one' }] });
    }
    expect(await storedJobs()).toBe(before);
  });
});

describe('auth → 401', () => {
  const routes: [string, string][] = [
    ['POST', '/v1/jobs'], ['GET', '/v1/jobs/job_x'], ['POST', '/v1/jobs/job_x/cancel'], ['GET', '/v1/models'],
    ['GET', '/v2'], ['GET', '/v2/models/mlp'], ['POST', '/v2/models/mlp/infer'], ['GET', '/metrics'],
    ['POST', '/v1/batches?model=mlp'], ['GET', '/v1/batches/batch_x'], ['GET', '/v1/batches/batch_x/results'],
    ['POST', '/v1/batches/batch_x/cancel'], ['GET', '/v1/webhooks/secret'],
  ];
  for (const [method, path] of routes) {
    it(`${method} ${path} without a key, and with a wrong one`, async () => {
      const body = method === 'POST' ? mlp({}) : undefined;
      const none = await call(cluster.url, method, path, body);
      expectProblem(none, 401, 'unauthorized');
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      const wrong = await call(cluster.url, method, path, body, { Authorization: 'Bearer wrong' });
      expectProblem(wrong, 401, 'unauthorized');
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"'); // RFC 6750 §3
    });
  }
  it('health needs no key', async () => {
    expect((await call(cluster.url, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2/health/ready')).status).toBe(200);
  });
});

describe('queued jobs', () => {
  it('a model without a live worker is not ready', async () => {
    expectProblem(await call(cluster.url, 'GET', '/v2/models/mlp/ready', undefined, A), 503, 'model-not-ready');
    expect((await call(cluster.url, 'GET', '/v2/models/penguins/ready', undefined, A)).status).toBe(200);
  });

  it('cancel of a queued job: canceled at once, and never run', async () => {
    const r = await call(cluster.url, 'POST', '/v1/jobs', mlp({}), A);
    expect(r.body.status).toBe('queued');
    const c = await call(cluster.url, 'POST', `/v1/jobs/${r.body.id}/cancel`, undefined, A);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'canceled', error: { type: 'canceled' } });
    expect((await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}`, undefined, A)).body.status).toBe('canceled');
    // A worker for mlp now starts: it must fail the job as canceled, not run it.
    const w = await cluster.startWorker({ WORKER_MODELS: 'mlp' });
    const after = await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}?wait=10`, undefined, A);
    expect(after.body).toMatchObject({ status: 'canceled', outputs: null });
    // Once the worker has failed it at its fetch, it reads as it did when canceled: never started, ended at the cancel.
    await eventually(async () => redis.hget(`maas:{infer-mlp-v1}:${r.body.id}`, 'finishedOn'), (v) => v !== null, { ms: 10_000, what: 'the fetch to fail the job' });
    const settled = (await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}`, undefined, A)).body;
    expect(settled).toMatchObject({ status: 'canceled', started_at: null, completed_at: c.body.completed_at, error: c.body.error });
    expect(await redis.exists(`maas:{infer-mlp-v1}:${r.body.id}`)).toBe(1);
    expect(await redis.hget(`maas:{infer-mlp-v1}:${r.body.id}`, 'returnvalue')).toBeNull();
    // BullMQ failed it at fetch (its deferred failure): the worker still counts it as canceled.
    await eventually(
      async () => (await call(cluster.url, 'GET', '/metrics', undefined, A)).body as string,
      (text) => /maas_jobs_processed_total\{[^}]*model="mlp"[^}]*outcome="canceled"[^}]*\} [1-9]/.test(text),
      { ms: 10_000, every: 200, what: 'the canceled job counted in the worker metrics' },
    );
    await w.stop('SIGTERM');
  });

  it('queue full → 429 with Retry-After', async () => {
    // No mlp worker now: MAX_QUEUE_DEPTH=3 jobs fit, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await call(cluster.url, 'POST', '/v1/jobs', mlp({}), A);
      statuses.push(r.status);
      if (r.status === 429) {
        expectProblem(r, 429, 'queue-full');
        expect(r.headers.get('retry-after')).toBe('1');
      }
      await new Promise((res) => setTimeout(res, 1100)); // the depth is cached for a second
    }
    expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
  });
});

describe('Redis unavailable → 503', () => {
  it('answers 503 while Redis is down, and recovers when it is back', async () => {
    await cluster.redis.kill();
    const r = await call(cluster.url, 'POST', '/v1/jobs', mlp({}), A);
    expectProblem(r, 503, 'redis-unavailable');
    expect(r.headers.get('retry-after')).toBe('1');
    const ready = await call(cluster.url, 'GET', '/v2/health/ready');
    expectProblem(ready, 503, 'not-ready'); // as every /v2 error: problem+json with "error"
    expect(ready.body).toMatchObject({ ready: false, redis: false, error: 'Redis is unreachable' });
    expect((await call(cluster.url, 'GET', '/v2/health/live')).status).toBe(200);
    // The scrape still answers, with the API's own metrics (the 503s counted) and Redis down.
    const scrape = await call(cluster.url, 'GET', '/metrics', undefined, A);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^maas_redis_up 0$/m);
    expect(scrape.body).not.toMatch(/^maas_queue_backlog /m); // not known: no sample (a 0 would scale the workers in)
    expect(scrape.body).not.toMatch(/^maas_webhook_backlog /m);
    expect(scrape.body).toMatch(/maas_http_errors_total\{status="503"\} [1-9]/);
    await cluster.redis.restart();
    const penguin = { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] };
    await eventually(() => call(cluster.url, 'POST', '/v1/jobs', penguin, A), (r) => r.status === 202, { ms: 10_000, every: 200, what: 'a 202 once Redis is back' });
  });
});

describe('rate limit → 429', () => {
  it('limits each tenant separately, with Retry-After, and recovers', async () => {
    const limited = await Cluster.start({ workers: 0, api: { API_KEYS: 'alpha:key-a,beta:key-b', RATE_LIMIT_RPS: '5' } });
    try {
      const burst = await Promise.all(Array.from({ length: 20 }, () => call(limited.url, 'GET', '/v1/models', undefined, A)));
      const rejected = burst.filter((r) => r.status === 429);
      expect(burst.filter((r) => r.status === 200).length).toBeLessThanOrEqual(5);
      expect(rejected.length).toBeGreaterThanOrEqual(15);
      expectProblem(rejected[0]!, 429, 'rate-limited');
      expect(Number(rejected[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await call(limited.url, 'GET', '/v1/models', undefined, B)).status).toBe(200); // another tenant's budget
      expect((await call(limited.url, 'GET', '/v2/health/ready')).status).toBe(200); // health is never limited
      await new Promise((r) => setTimeout(r, 1100));
      expect((await call(limited.url, 'GET', '/v1/models', undefined, A)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('a waiting request whose client leaves', () => {
  it('is let go at once, for `Prefer: wait`, `?wait=N` and v2 infer alike; its job stays queued', async () => {
    const c = await Cluster.start({ workers: 0 }); // nothing runs the jobs: every request waits
    try {
      const waiting = async () => Number(/^maas_api_waiting_requests (\d+)/m.exec((await call(c.url, 'GET', '/metrics')).body as string)?.[1]);
      const input = [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: new Array(32).fill(0.5) }];
      const queued = await call(c.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: input });
      const requests: [string, RequestInit][] = [
        ['/v1/jobs', { method: 'POST', body: JSON.stringify({ model: 'mlp', inputs: input }), headers: { 'content-type': 'application/json', Prefer: 'wait=30' } }],
        [`/v1/jobs/${queued.body.id}?wait=30`, {}],
        ['/v2/models/mlp/infer', { method: 'POST', body: JSON.stringify({ inputs: input }), headers: { 'content-type': 'application/json' } }],
      ];
      for (const [path, init] of requests) {
        const leaving = new AbortController();
        const gone = fetch(c.url + path, { ...init, signal: leaving.signal }).catch(() => 'aborted');
        await eventually(waiting, (n) => n === 1, { ms: 5000, what: `${path} to wait` });
        leaving.abort();
        expect(await gone).toBe('aborted');
        await eventually(waiting, (n) => n === 0, { ms: 2000, what: `${path}'s waiter to be let go` });
      }
      expect((await call(c.url, 'GET', `/v1/jobs/${queued.body.id}`)).body.status).toBe('queued');
    } finally {
      await c.stop();
    }
  });
});

describe('v2 infers sharing a job, waiting when the API stops', () => {
  it("each name the job and its own rows of it (the job shows every request's rows)", async () => {
    const c = await Cluster.start({ workers: 0 });
    const redis = c.redisClient();
    try {
      const pending: Promise<{ status: number; body: any }>[] = [];
      // Requests fired together reach the API in one turn and share a job (another round if none did).
      const packed = async () => {
        for (const key of await redis.keys('maas:{infer-mlp-v1}:*')) {
          if ((await redis.type(key)) === 'hash' && Number(JSON.parse((await redis.hget(key, 'data')) ?? '{}').requests) > 1) return true;
        }
        return false;
      };
      for (let round = 0; round < 5 && !(await packed()); round++) {
        for (let k = 0; k < 24; k++) {
          const data = new Array(64).fill(k / 24);
          pending.push(call(c.url, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data }] }));
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await packed()).toBe(true);
      const exited = c.api.stop('SIGTERM');
      const answers = await Promise.all(pending);
      const byJob = new Map<string, number[][]>();
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ type: 'urn:maas:problem:shutting-down', job_id: expect.stringMatching(/^job_/) });
        byJob.set(r.body.job_id, [...(byJob.get(r.body.job_id) ?? []), r.body.job_rows]);
      }
      const shared = [...byJob.values()].filter((rows) => rows.length > 1);
      expect(shared.length).toBeGreaterThan(0);
      for (const rows of shared) {
        // Each its own two rows, none overlapping, in the job's order.
        const sorted = rows.map((r) => r as number[]).sort((a, b) => a[0]! - b[0]!);
        sorted.forEach(([start, end], i) => {
          expect(end! - start!).toBe(2);
          if (i > 0) expect(start).toBeGreaterThanOrEqual(sorted[i - 1]![1]!);
        });
      }
      for (const r of answers) if (byJob.get(r.body.job_id)!.length === 1) expect(r.body.job_rows).toBeUndefined();
      expect(answers.find((r) => r.body.job_rows)!.body.error).toMatch(/this request's rows are \d+ to \d+ of its outputs/);
      expect(await exited).toBe(0);
    } finally {
      redis.disconnect();
      await c.stop();
    }
  });
});

describe('a v2 infer waiting when the API stops', () => {
  it('answers 503 shutting-down with Retry-After and its job id (the job stays queued), not a 504', async () => {
    const c = await Cluster.start({ workers: 0 }); // nothing runs the job: the infer waits
    try {
      const pending = call(c.url, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: new Array(32).fill(0.5) }] });
      await new Promise((r) => setTimeout(r, 500));
      const exited = c.api.stop('SIGTERM');
      const r = await pending;
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ type: 'urn:maas:problem:shutting-down', job_id: expect.stringMatching(/^job_/), error: expect.stringMatching(/stays queued and will run/) });
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await exited).toBe(0);
    } finally {
      await c.stop();
    }
  });
});

describe("a job's long-poll across a Redis restart", () => {
  it('keeps waiting while Redis is away and answers the job once it has run, not a 503 as Redis comes back', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'maas-job-wait-'));
    const c = await Cluster.start({ workers: 1, redisDir: dir }); // persisted: the job outlives the restart
    try {
      // The worker is frozen while the job is queued and Redis restarts, and thawed as Redis is
      // back: the job ends, and its waiter is woken, while the API's own connection may still be reconnecting.
      const worker = c.workers[0]!.child;
      worker.kill('SIGSTOP');
      const created = await call(c.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array(32).fill(0.5) }] });
      expect(created.status).toBe(202);
      await new Promise((r) => setTimeout(r, 1100)); // the append-only file has it (fsync every second)
      const waited = fetch(`${c.url}/v1/jobs/${created.body.id}?wait=30`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
      await new Promise((r) => setTimeout(r, 300));
      await c.redis.kill();
      await new Promise((r) => setTimeout(r, 3000));
      await c.redis.restart();
      worker.kill('SIGCONT');
      const answer = await waited;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ id: created.body.id, status: 'succeeded' });
    } finally {
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('creates waiting (`Prefer: wait`, v2 infer) across a Redis outage', () => {
  const input = [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array(32).fill(0.5) }];
  const answer = async (url: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    return { status: r.status, location: r.headers.get('location'), jobId: r.headers.get('x-job-id'), body: (await r.json()) as any };
  };

  it('keep waiting across a restart and answer their jobs once run', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'maas-create-wait-'));
    const c = await Cluster.start({ workers: 1, redisDir: dir });
    try {
      const worker = c.workers[0]!.child;
      worker.kill('SIGSTOP'); // the jobs stay queued across the restart, and run once it is thawed
      const creates = Array.from({ length: 100 }, () => answer(c.url, '/v1/jobs', { model: 'mlp', inputs: input }, { Prefer: 'wait=40' }));
      const infers = Array.from({ length: 20 }, () => answer(c.url, '/v2/models/mlp/infer', { inputs: input }));
      await new Promise((r) => setTimeout(r, 2500)); // all queued, and in the append-only file (fsync every second)
      await c.redis.stop();
      await new Promise((r) => setTimeout(r, 3000));
      await c.redis.restart();
      worker.kill('SIGCONT');
      for (const r of await Promise.all(creates)) {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.status).toBe('succeeded');
        expect(r.location).toBe(`/v1/jobs/${r.body.id}`);
      }
      for (const r of await Promise.all(infers)) expect(r.status, JSON.stringify(r.body)).toBe(200);
    } finally {
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('whose wait ends while Redis is away answer with the job they queued: a 202 naming it, a v2 503 with its id (they said "retry later" without it, and a client that retried ran its job twice: two audits)', async () => {
    const c = await Cluster.start({ workers: 0, api: { INFER_TIMEOUT_S: '2' } });
    try {
      const create = answer(c.url, '/v1/jobs', { model: 'mlp', inputs: input }, { Prefer: 'wait=2' });
      const infer = answer(c.url, '/v2/models/mlp/infer', { inputs: input });
      await new Promise((r) => setTimeout(r, 500)); // both queued, and waiting
      await c.redis.kill();
      const created = await create;
      expect(created.status, JSON.stringify(created.body)).toBe(202);
      expect(created.body).toMatchObject({ id: expect.stringMatching(/^job_/), status: 'queued' });
      expect(created.location).toBe(`/v1/jobs/${created.body.id}`);
      const inferred = await infer;
      expect(inferred.status).toBe(503);
      expect(inferred.body).toMatchObject({ type: 'urn:maas:problem:redis-unavailable', job_id: inferred.jobId, error: expect.stringMatching(/stays queued and will run once it is back: poll GET \/v1\/jobs\/job_/) });
    } finally {
      await c.stop();
    }
  });
});

describe('a request with a timeout that ended', () => {
  it('leaves no deadline entry behind, job or v2 infer (each stayed until its deadline, up to a week, long after the job had gone)', async () => {
    const features = { name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] };
    const week = 7 * 24 * 3600;
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [features], timeout_ms: week * 1000 }, { ...A, Prefer: 'wait=20' });
    expect(job.body.status, JSON.stringify(job.body)).toBe('succeeded');
    const infer = await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [features], parameters: { timeout: week * 1e6 } }, A);
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    const entries = async () => {
      let n = 0;
      for (const key of await redis.keys('maas:{infer-penguins-*}:deadlines')) n += await redis.zcard(key);
      return n;
    };
    await eventually(entries, (n) => n === 0, { ms: 5000, what: 'the deadline entries removed' });
  });
});

describe('a Redis that holds its connections without answering (SIGSTOP)', () => {
  it('is a 503 with Retry-After within seconds, for reads and for a job, not a connection closed unanswered after 120 s; the job is not queued once Redis answers', async () => {
    const c = await Cluster.start({ workers: 0, api: { API_KEYS: 'alpha:key-a' } });
    const probe = c.redisClient();
    try {
      expect((await call(c.url, 'GET', '/v1/models', undefined, A)).status).toBe(200);
      c.redis.process.kill('SIGSTOP');
      let job!: { body: { detail: string } };
      const t0 = Date.now();
      try {
        const keyed = async () => {
          const r = await call(c.url, 'POST', '/v1/jobs', mlp({}), { ...A, 'Idempotency-Key': 'silent-1' }, 30_000);
          return { r, ms: Date.now() - t0 };
        };
        const [models, created, withKey] = await Promise.all([
          call(c.url, 'GET', '/v1/batches', undefined, A, 30_000),
          call(c.url, 'POST', '/v1/jobs', mlp({}), A, 30_000),
          keyed(),
        ]);
        job = created;
        expect(Date.now() - t0).toBeLessThan(20_000);
        // One command timeout, not two: its claim's release went on behind the 503 (10 s before).
        expect(withKey.ms).toBeLessThan(8500);
        for (const r of [models, created, withKey.r]) {
          expectProblem(r, 503, 'redis-unavailable');
          expect(r.body.detail).toMatch(/^Redis did not answer in time/);
          expect(r.headers.get('retry-after')).toBe('1');
        }
      } finally {
        c.redis.process.kill('SIGCONT');
      }
      expect((await call(c.url, 'GET', '/v1/models', undefined, A)).status).toBe(200);
      // Refused before its add went out: nothing of it is left once Redis has run what it held.
      await new Promise((r) => setTimeout(r, 500));
      expect(await probe.keys('maas:{infer-*}:job_*')).toEqual([]);
      expect(await probe.keys('maas:job:*')).toEqual([]);
      expect(job.body.detail).not.toMatch(/may have been queued/);
      // The queue first made while Redis was silent serves once it answers (BullMQ's version
      // check, sent when a queue is made, failed it for good before).
      const after = await call(c.url, 'POST', '/v1/jobs', mlp({}), A);
      expect(after.status, JSON.stringify(after.body)).toBe(202);
      // The key's claim was released once Redis answered: a retry with it queues the job.
      const retried = await call(c.url, 'POST', '/v1/jobs', mlp({}), { ...A, 'Idempotency-Key': 'silent-1' });
      expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    } finally {
      probe.disconnect();
      await c.stop();
    }
  });
});
