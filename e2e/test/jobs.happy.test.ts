/**
 * The inference spine end to end: real redis-server, API and worker processes, shipped models.
 * Micro-batching must never change a result: every job's outputs equal those of its rows run
 * alone through the same ONNX model, and never carry another job's rows.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 1 });
});
afterAll(async () => {
  await cluster?.stop();
});

const mlpJob = (data: number[][], extra: Record<string, unknown> = {}) => ({
  model: 'mlp',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }],
  ...extra,
});

function expectClose(actual: number[], expected: number[], tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol));
}

describe('micro-batching', () => {
  it('400 concurrent single-row jobs: outputs equal each row run alone, and rows shared runs', async () => {
    const input = rows(42, 400, 32);
    const expected = await runAlone(MLP, 'input', 'output', input);
    const t0 = performance.now();
    const created = await Promise.all(input.map((r) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]))));
    for (const c of created) expect(c.status).toBe(202);
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    const seconds = (performance.now() - t0) / 1000;
    const sizes = done.map((d) => d.body.metrics?.batch_size as number);
    done.forEach((d, i) => {
      expect(d.body.status, JSON.stringify(d.body.error)).toBe('succeeded');
      expect(d.body.outputs[0].shape).toEqual([1, 2]);
      expectClose(d.body.outputs[0].data, expected[i]!);
    });
    const largest = Math.max(...sizes);
    console.log(`400 single-row jobs: ${(400 / seconds).toFixed(0)} jobs/s, largest batch ${largest}, mean batch ${(sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(1)}`);
    expect(largest).toBeGreaterThan(1);
    expect(sizes.filter((s) => s > 1).length).toBeGreaterThan(100);
  });

  it('after a spell of lone jobs (BullMQ held to one job at a time), a burst of unpacked single-row jobs still shares runs', async () => {
    // One at a time, answered before the next: each runs at once, alone, and the worker lets
    // BullMQ hold only it (batching/fetch-limit.ts `quick`).
    for (const r of rows(43, 30, 32)) {
      const one = await call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]), { Prefer: 'wait=10' });
      expect(one.body.status).toBe('succeeded');
      expect(one.body.metrics.batch_size).toBe(1);
    }
    // Then a burst, each job a BullMQ job of its own (an Idempotency-Key is never packed): the
    // worker must leave the one-at-a-time setting once jobs wait, or they run one by one.
    const input = rows(44, 300, 32);
    const expected = await runAlone(MLP, 'input', 'output', input);
    const created = await Promise.all(input.map((r, k) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]), { 'Idempotency-Key': `burst-${k}` })));
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    done.forEach((d, i) => {
      expect(d.body.status, JSON.stringify(d.body.error)).toBe('succeeded');
      expectClose(d.body.outputs[0].data, expected[i]!);
    });
    const shared = done.filter((d) => (d.body.metrics.batch_size as number) > 1).length;
    console.log(`a burst of 300 unpacked jobs after 30 lone ones: ${shared} ran in shared runs`);
    expect(shared).toBeGreaterThan(30);
  });

  it('multi-row jobs keep their rows and order, also when larger than max_batch_size (split across runs)', async () => {
    const big = rows(7, 2500, 32); // mlp max_batch_size is 1024 → 3 runs
    const small = [rows(8, 3, 32), rows(9, 5, 32), rows(10, 1, 32)];
    const expectedBig = await runAlone(MLP, 'input', 'output', big);
    const created = await Promise.all([big, ...small].map((d) => call(cluster.url, 'POST', '/v1/jobs', mlpJob(d))));
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=60`)));
    const bigJob = done[0]!.body;
    expect(bigJob.status).toBe('succeeded');
    expect(bigJob.outputs[0].shape).toEqual([2500, 2]);
    expect(bigJob.metrics.runs).toBeGreaterThanOrEqual(3);
    expect(bigJob.metrics.batch_size).toBeLessThanOrEqual(1024);
    expectClose(bigJob.outputs[0].data, expectedBig.flat());
    for (let j = 0; j < small.length; j++) {
      const expected = await runAlone(MLP, 'input', 'output', small[j]!);
      expect(done[j + 1]!.body.outputs[0].shape).toEqual([small[j]!.length, 2]);
      expectClose(done[j + 1]!.body.outputs[0].data, expected.flat());
    }
  });

  it('nested and flat data give the same result', async () => {
    const r = rows(11, 2, 32);
    const nested = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(r), { Prefer: 'wait=10' });
    const flat = await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: r.flat() }] }, { Prefer: 'wait=10' });
    expect(nested.status).toBe(200);
    expect(flat.body.outputs).toEqual(nested.body.outputs);
  });
});

describe('jobs API', () => {
  it('job object: Location, timestamps, metrics and metadata', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(1, 1, 32), { metadata: { user: 'u1' } }));
    expect(c.status).toBe(202);
    expect(c.headers.get('location')).toBe(`/v1/jobs/${c.body.id}`);
    expect(c.body).toMatchObject({ object: 'job', model: 'mlp', version: '1', metadata: { user: 'u1' } });
    expect(['queued', 'running', 'succeeded']).toContain(c.body.status);
    const done = await call(cluster.url, 'GET', `${c.headers.get('location')}?wait=10`);
    expect(done.body.status).toBe('succeeded');
    for (const k of ['created_at', 'started_at', 'completed_at']) expect(Date.parse(done.body[k])).toBeGreaterThan(0);
    expect(done.body.metrics).toMatchObject({ worker: 'wrk_test1', runs: 1 });
    for (const k of ['queue_ms', 'batch_wait_ms', 'inference_ms', 'batch_size']) expect(typeof done.body.metrics[k]).toBe('number');
  });

  it('Prefer: wait answers 200 with the finished job', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(2, 1, 32)), { Prefer: 'wait=10' });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('succeeded');
    expect(c.headers.get('preference-applied')).toBe('wait=10');
    // answered from BullMQ's completion event, it is the job every later read shows
    expect((await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`)).body).toEqual(c.body);
  });

  it("a bare Prefer: wait (Replicate's) waits the longest, MAX_WAIT_S", async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(3, 1, 32)), { Prefer: 'wait' });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('succeeded');
    expect(c.headers.get('preference-applied')).toBe('wait=55');
  });

  it('classification extension on the penguin classifier, with labels', async () => {
    const c = await call(
      cluster.url, 'POST', '/v1/jobs',
      {
        model: 'penguins',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [[39.1, 18.7, 181, 3750], [46.5, 14.5, 213, 4400]] }],
        outputs: [{ name: 'probabilities', parameters: { classification: 2 } }, { name: 'label' }],
      },
      { Prefer: 'wait=10' },
    );
    expect(c.body.status).toBe('succeeded');
    expect(c.body.version).toBe('2');
    const [cls, label] = c.body.outputs;
    expect(cls).toMatchObject({ name: 'probabilities', datatype: 'BYTES', shape: [2, 2] });
    expect(cls.data[0]).toMatch(/^-?[0-9]+\.[0-9]{6}:0:Adelie$/);
    expect(cls.data[2]).toMatch(/^-?[0-9]+\.[0-9]{6}:2:Gentoo$/);
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
  });

  it('classification of a one-dimensional output: one class a row, as Triton answers ([rows] → [rows, 1])', async () => {
    const c = await call(cluster.url, 'POST', '/v2/models/penguins/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [[39.1, 18.7, 181, 3750], [46.5, 14.5, 213, 4400]] }],
      outputs: [{ name: 'label', parameters: { classification: 3 } }],
    });
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.outputs).toEqual([{ name: 'label', datatype: 'BYTES', shape: [2, 1], data: ['0:0:Adelie', '2:0:Adelie'] }]);
  });

  it('an explicit older version is served when the policy keeps it', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'penguins', version: '1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [[39.1, 18.7, 181, 3750]] }],
    }, { Prefer: 'wait=10' });
    expect(c.body).toMatchObject({ status: 'succeeded', version: '1' });
  });

  it('fixed-batch model: exact shape, two inputs of different datatypes', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'fixed',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1.5, 2, 3, 4, 5, 6] },
        { name: 'y', datatype: 'INT32', shape: [2, 3], data: [[1, 2, 3], [-4, -5, -6]] },
      ],
    }, { Prefer: 'wait=10' });
    expect(c.body.status).toBe('succeeded');
    expect(c.body.outputs[0]).toEqual({ name: 'sum', datatype: 'FP32', shape: [2, 3], data: [2.5, 4, 6, 0, 0, 0] });
  });

  it('Idempotency-Key: same body → same job; another body → 409', async () => {
    const body = mlpJob(rows(3, 1, 32));
    const a = await call(cluster.url, 'POST', '/v1/jobs', body, { 'Idempotency-Key': 'k-1' });
    const b = await call(cluster.url, 'POST', '/v1/jobs', body, { 'Idempotency-Key': 'k-1' });
    expect(a.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(4, 1, 32)), { 'Idempotency-Key': 'k-1' });
    expect(c.status).toBe(409);
    expect(c.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('GET ?wait long-polls until the job ends', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(5, 64, 32)));
    const t0 = Date.now();
    const done = await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=20`);
    expect(done.body.status).toBe('succeeded');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('cancel of a finished job leaves it as it was', async () => {
    const c = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(6, 1, 32)), { Prefer: 'wait=10' });
    const x = await call(cluster.url, 'POST', `/v1/jobs/${c.body.id}/cancel`);
    expect(x.status).toBe(200);
    expect(x.body.status).toBe('succeeded');
  });
});

describe('KServe v2', () => {
  it('health, server and model metadata', async () => {
    expect((await call(cluster.url, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2/health/ready')).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2')).body).toMatchObject({ name: 'maas', extensions: expect.arrayContaining(['classification']) });
    const meta = await call(cluster.url, 'GET', '/v2/models/mlp');
    expect(meta.body).toMatchObject({
      name: 'mlp', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 32] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect((await call(cluster.url, 'GET', '/v2/models/penguins/versions/1')).body.versions).toEqual(['1']);
    expect((await call(cluster.url, 'GET', '/v2/models/mlp/ready')).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2/models/penguins/versions/2/ready')).status).toBe(200);
  });

  it('infer answers a v2 response through the queue, naming the job', async () => {
    const input = rows(12, 3, 32);
    const r = await call(cluster.url, 'POST', '/v2/models/mlp/infer', { id: 'req-1', inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 32], data: input }] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ model_name: 'mlp', model_version: '1', id: 'req-1' });
    expect(r.headers.get('x-job-id')).toMatch(/^job_/);
    expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
    const job = await call(cluster.url, 'GET', `/v1/jobs/${r.headers.get('x-job-id')}`);
    expect(job.body.status).toBe('succeeded');
  });

  it('/metrics counts each request a packed job carries, as Triton\'s statistics do (it counted the packed jobs: 80 requests read 4)', async () => {
    // Summed over every worker's series of the model (the workers' heartbeats carry them, every 500 ms).
    const sum = (text: string, re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    const succeeded = async () => {
      const text = (await call(cluster.url, 'GET', '/metrics')).body as string;
      const stats = (await call(cluster.url, 'GET', '/v2/models/penguins/stats')).body.model_stats.reduce((a: number, s: any) => a + s.inference_stats.success.count, 0) as number;
      return {
        jobs: sum(text, /^maas_jobs_processed_total\{[^}]*model="penguins"[^}]*outcome="succeeded"[^}]*\} (\d+)$/gm),
        seconds: sum(text, /^maas_job_seconds_count\{[^}]*model="penguins"[^}]*kind="request"[^}]*\} (\d+)$/gm),
        stats,
      };
    };
    // Read when two reads a heartbeat and more apart agree, and the three counts agree with one
    // another (nothing still being counted: on a loaded machine a heartbeat or a statistics
    // write can come late, and an earlier test's requests were counted in this one's window).
    const settled = async () => {
      let last = await succeeded();
      return eventually(async () => {
        const now = await succeeded();
        const same = JSON.stringify(now) === JSON.stringify(last) && now.jobs === now.seconds && now.jobs === now.stats;
        last = now;
        return same ? now : undefined;
      }, (x) => x !== undefined, { ms: 20_000, every: 1200, what: 'the counts to settle' });
    };
    const before = (await settled())!;
    const features = (i: number) => ({ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39 + i / 10, 18.7, 181, 3750] });
    const answers = await Promise.all([
      ...Array.from({ length: 24 }, (_, i) => call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [features(i)] })),
      ...Array.from({ length: 24 }, (_, i) => call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [features(i)] }, { Prefer: 'wait=20' })),
    ]);
    expect(answers.map((a) => a.status)).toEqual([...Array(24).fill(200), ...Array(24).fill(200)]);
    // A job is counted once BullMQ has stored its completion, which may come after its answer.
    await eventually(succeeded, (now) => now.jobs - before.jobs >= 48 && now.seconds - before.seconds >= 48 && now.stats - before.stats >= 48, { ms: 15_000, every: 250, what: 'the 48 requests counted' });
    const after = (await settled())!;
    expect(after.jobs - before.jobs).toBe(48);
    expect(after.seconds - before.seconds).toBe(48);
    expect(after.stats - before.stats).toBe(24 + 24);
  });

  it('/v1/models lists models with live workers; /metrics shows batches and queues', async () => {
    const m = await call(cluster.url, 'GET', '/v1/models');
    const mlp = m.body.models.find((x: { name: string }) => x.name === 'mlp');
    expect(mlp).toMatchObject({ name: 'mlp', versions: ['1'], max_batch_size: 1024, ready: true, workers: 1 });
    await new Promise((r) => setTimeout(r, 1200)); // one heartbeat carries the worker's metrics
    const text = (await call(cluster.url, 'GET', '/metrics')).body as string;
    expect(text).toMatch(/maas_run_rows_count\{[^}]*model="mlp"[^}]*\} [1-9]/);
    expect(text).toMatch(/maas_queue_jobs\{model="mlp",version="1",state="completed"\} [1-9]/);
    expect(text).toMatch(/maas_jobs_processed_total\{[^}]*outcome="succeeded"[^}]*\} [1-9]/);
    // Requests' latency apart from batch files' chunks, in buckets fine enough for a few-ms SLO.
    expect(text).toMatch(/maas_job_seconds_count\{[^}]*model="mlp"[^}]*kind="request"[^}]*\} [1-9]/);
    expect(text).toMatch(/maas_job_seconds_bucket\{le="0\.0075",[^}]*kind="request"/);
    // A worker's series carry its id (they end when it dies, never summed down); Redis was read.
    expect(text).toMatch(/maas_jobs_processed_total\{[^}]*worker="[^"]+"[^}]*\} [1-9]/);
    expect(text).toMatch(/^maas_redis_up 1$/m);
    expect(text).toMatch(/maas_http_request_seconds_count/);
    // What the API's caches hold: the jobs this test queued here, and the events it heard.
    expect(text).toMatch(/^maas_api_cache_entries\{cache="queued_jobs"\} [1-9]/m);
    expect(text).toMatch(/^maas_api_cache_bytes\{cache="queued_jobs"\} \d+$/m);
    expect(text).toMatch(/^maas_api_cache_entries\{cache="job_events"\} [1-9]/m);
    expect(text).toMatch(/^maas_api_cache_entries\{cache="responses"\} 0$/m); // no model here keeps its answers
  });
});
