/**
 * Models whose runs do not split back by rows, and a row that fails its run: micro-batching
 * must never hand a request another's rows or another's failure (CONTRACT §6). Real
 * redis-server, API and one worker, test models built into a temporary repository:
 * - `lookup` (Gather from a 10-entry table): an index past 9 fails the run it is in;
 * - `flatten` (`[batch, 2]` → `[n]`): its output's first dimension is named apart from the
 *   rows, so its requests run one at a time; `flatten_told` is the same file with a
 *   config.json `max_batch_size`, which the model does not honour;
 * - `transpose` (`[batch, 2]` → `[2, batch]`): cannot batch; its outputs come back whole.
 * Every run goes to the worker's session thread (`WORKER_INLINE_MAX_MS=0`), as a model's
 * longer runs do: the failed runs' isolation runs rows again from bytes a run has crossed with.
 */
import { buildBatchMeanModel, buildFlattenModel, buildLookupModel, buildTotalModel, buildTransposeModel } from '@maas/model-gen/test-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, call, Cluster, eventually, modelRepository } from '../src/harness/index.js';

let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  repo = await modelRepository();
  // A window, so that requests arriving together share runs (the worker's session is idle otherwise).
  await addModel(repo.dir, 'lookup', buildLookupModel(), { max_queue_delay_ms: 200, preferred_batch_sizes: [16] });
  await addModel(repo.dir, 'lookup_small', buildLookupModel(), { max_batch_size: 4 });
  await addModel(repo.dir, 'flatten', buildFlattenModel(), { max_queue_delay_ms: 200, preferred_batch_sizes: [8] });
  await addModel(repo.dir, 'flatten_told', buildFlattenModel(), { max_batch_size: 8 });
  await addModel(repo.dir, 'transpose', buildTransposeModel(), {});
  await addModel(repo.dir, 'total', buildTotalModel(), {});
  await addModel(repo.dir, 'batch_mean', buildBatchMeanModel(), { max_queue_delay_ms: 200, preferred_batch_sizes: [8] });
  cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'lookup,lookup_small,flatten,flatten_told,transpose,total,batch_mean', WORKER_INLINE_MAX_MS: '0' } });
  for (const m of ['lookup', 'lookup_small', 'flatten', 'flatten_told', 'transpose', 'total', 'batch_mean']) {
    await eventually(async () => (await call(cluster.url, 'GET', `/v2/models/${m}/ready`)).status, (s) => s === 200, { what: `${m} ready` });
  }
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

const infer = (model: string, name: string, datatype: string, data: number[], width: number) =>
  call(cluster.url, 'POST', `/v2/models/${model}/infer`, { inputs: [{ name, datatype, shape: [data.length / width, width], data }] });

/** Requests counted succeeded and failed in `model`'s Triton statistics. */
async function requestCounts(model: string): Promise<{ success: number; fail: number }> {
  const r = await call(cluster.url, 'GET', `/v2/models/${model}/stats`);
  const stats = r.body.model_stats[0].inference_stats;
  return { success: Number(stats.success.count), fail: Number(stats.fail.count) };
}

describe('a row that fails its run', () => {
  it('fails only its own request over v2 infer: the others that shared its job or its run get their rows, and nobody sees its values', async () => {
    const idx = Array.from({ length: 16 }, (_, k) => (k === 5 ? 100 : k % 10));
    const before = await requestCounts('lookup');
    const replies = await Promise.all(idx.map((i) => infer('lookup', 'idx', 'INT64', [i], 1)));
    replies.forEach((r, k) => {
      if (k === 5) {
        expect(r.status, JSON.stringify(r.body)).toBe(500);
        expect(r.body.detail).toMatch(/100/);
      } else {
        expect(r.status, `request ${k}: ${JSON.stringify(r.body)}`).toBe(200);
        expect(r.body.outputs[0].data).toEqual([idx[k]! * 10]);
      }
    });
    // Triton's statistics count each request once (recorder.ts failedRequests: a shared job's
    // failure is not counted besides its requests' runs alone; its unit test shows the case).
    const after = await eventually(() => requestCounts('lookup'), (c) => c.success - before.success >= 15 && c.fail - before.fail >= 1, { what: 'the statistics written' });
    await new Promise((r) => setTimeout(r, 300)); // a later write (they are summed every 100 ms) would show here
    expect(await requestCounts('lookup')).toEqual(after);
    expect({ success: after.success - before.success, fail: after.fail - before.fail }).toEqual({ success: 15, fail: 1 });
  });

  it('fails only its own job among /v1/jobs the worker ran together', async () => {
    const idx = Array.from({ length: 12 }, (_, k) => (k === 3 ? 250 : k % 10));
    // Queued while no worker serves lookup, so that the next worker takes them together; an
    // Idempotency-Key keeps each request a job of its own (not packed by the API).
    await cluster.stopWorker(cluster.workers[0]!);
    const created = await Promise.all(idx.map((i, k) => call(cluster.url, 'POST', '/v1/jobs', { model: 'lookup', inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [i] }] }, { 'idempotency-key': `lookup-${Date.now()}-${k}` })));
    await cluster.startWorker();
    const jobs = await Promise.all(created.map(async (c) => {
      expect(c.status).toBe(202);
      return (await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=20`)).body;
    }));
    jobs.forEach((j, k) => {
      if (k === 3) {
        expect(j.status).toBe('failed');
        expect(j.error.type).toBe('inference-failed');
        expect(j.error.message).toMatch(/250/);
      } else {
        expect(j.status, `job ${k}: ${JSON.stringify(j.error)}`).toBe('succeeded');
        expect(j.outputs[0].data).toEqual([idx[k]! * 10]);
      }
    });
    // They did share a run, which failed, before each ran again alone.
    expect(cluster.logs()).toMatch(/a shared run failed; its jobs run again one by one/);
  });
});

describe('a /v1/jobs job packed with others of its turn', () => {
  it('fails alone when its values fail the run; the jobs packed with it succeed with their own rows', async () => {
    const idx = [4, 7, 300, 2, 9, 1];
    // Sent together, without webhook or Idempotency-Key: the API packs them into one job (a carrier).
    const created = await Promise.all(idx.map((i) => call(cluster.url, 'POST', '/v1/jobs', { model: 'lookup', inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [i] }] })));
    const jobs = await Promise.all(created.map(async (c) => {
      expect(c.status).toBe(202);
      return (await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=20`)).body;
    }));
    jobs.forEach((j, k) => {
      if (idx[k] === 300) expect(j).toMatchObject({ status: 'failed', outputs: null, error: { type: 'inference-failed', message: expect.stringMatching(/300/) } });
      else expect(j, `job ${k}`).toMatchObject({ status: 'succeeded', error: null, outputs: [{ name: 'out', shape: [1, 1], data: [idx[k]! * 10] }] });
    });
    expect(cluster.logs(), 'they were packed, and their shared run failed').toMatch(/a packed job's run failed; its members run again one by one/);
  });
});

describe('a batch line whose values fail the run', () => {
  it('fails that line only, with its own error; its chunk\'s other lines succeed, in order', async () => {
    const idx = [1, 2, 100, 3, -50, 4, 5];
    const lines = idx.map((i, k) => JSON.stringify({ custom_id: `l${k}`, inputs: { idx: [i] } }));
    lines.splice(3, 0, '{"custom_id":"bad","inputs":{"idx":[1, 2]}}'); // fails its checks at upload
    const res = await fetch(`${cluster.url}/v1/batches?model=lookup`, { method: 'POST', body: lines.join('\n') + '\n', headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(batch)).toBe(202);
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=20`)).body;
    expect(done.status).toBe('succeeded');
    expect(done.counts).toEqual({ total: 8, succeeded: 5, failed: 3 });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(results.map((r) => r.custom_id)).toEqual(['l0', 'l1', 'l2', 'bad', 'l3', 'l4', 'l5', 'l6']);
    const ok = (id: string, v: number) => expect(results.find((r) => r.custom_id === id)).toEqual({ custom_id: id, outputs: { out: [v] } });
    ok('l0', 10);
    ok('l1', 20);
    ok('l3', 30);
    ok('l5', 40);
    ok('l6', 50);
    expect(results.find((r) => r.custom_id === 'l2').error).toMatchObject({ type: 'inference-failed', message: expect.stringMatching(/100/) });
    expect(results.find((r) => r.custom_id === 'l4').error).toMatchObject({ type: 'inference-failed', message: expect.stringMatching(/-50/) });
    expect(results.find((r) => r.custom_id === 'bad').error.type).toBe('invalid-input');
    // An .npy file of the results cannot hold the errors (406), as for lines that failed their checks.
    expect((await fetch(`${cluster.url}/v1/batches/${batch.id}/results`, { headers: { accept: 'application/x-npy' } })).status).toBe(406);
  });
});

describe('a batch chunk of many lines run whole, whose run fails', () => {
  it('fails only its bad line: its lines run again in halves, down to that line', async () => {
    // 600 lines of one row: one chunk, one run (under lookup's 1,024 rows), which fails; about
    // twenty runs of halves find the line at fault.
    const idx = Array.from({ length: 600 }, (_, k) => (k === 300 ? 999 : k % 10));
    const body = idx.map((i, k) => JSON.stringify({ custom_id: `l${k}`, inputs: { idx: [i] } })).join('\n') + '\n';
    const res = await fetch(`${cluster.url}/v1/batches?model=lookup`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(batch)).toBe(202);
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=20`)).body;
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.counts).toEqual({ total: 600, succeeded: 599, failed: 1 });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    results.forEach((r, k) => {
      if (k === 300) expect(r).toMatchObject({ custom_id: 'l300', error: { type: 'inference-failed', message: expect.stringMatching(/999/) } });
      else expect(r, `line ${k}`).toEqual({ custom_id: `l${k}`, outputs: { out: [idx[k]! * 10] } });
    });
  });
});

describe('batch lines of several rows whose values fail the run', () => {
  const tensorLine = (id: string, idx: number[]) =>
    JSON.stringify({ custom_id: id, inputs: [{ name: 'idx', datatype: 'INT64', shape: [idx.length, 1], data: idx }] });

  it('fail alone, whole, even when their rows were spread over runs that succeeded; the other lines get their own rows', async () => {
    // Runs of 4 rows: m1's rows 2-3 share a run that succeeds with m0, its rows 4-7 one that
    // fails (100); m2, m3 and m4's first row share one that fails (-50).
    const lines = [tensorLine('m0', [1, 2]), tensorLine('m1', [3, 4, 5, 100, 6, 7]), tensorLine('m2', [8]), tensorLine('m3', [9, -50]), tensorLine('m4', [0, 1, 2])];
    const res = await fetch(`${cluster.url}/v1/batches?model=lookup_small`, { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(batch)).toBe(202);
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=20`)).body;
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 5, succeeded: 3, failed: 2 } });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    const out = (id: string, data: number[]) => ({ custom_id: id, outputs: [{ name: 'out', datatype: 'FP32', shape: [data.length, 1], data }] });
    expect(results[0]).toEqual(out('m0', [10, 20]));
    expect(results[1]).toMatchObject({ custom_id: 'm1', error: { type: 'inference-failed', message: expect.stringMatching(/100/) } });
    expect(results[2]).toEqual(out('m2', [80]));
    expect(results[3]).toMatchObject({ custom_id: 'm3', error: { type: 'inference-failed', message: expect.stringMatching(/-50/) } });
    expect(results[3].error.message).not.toMatch(/100/);
    expect(results[4]).toEqual(out('m4', [0, 10, 20]));
  });

  it('every line failing with its own values: each keeps its own error', async () => {
    const lines = [tensorLine('a', [100, 1]), tensorLine('b', [2, 200])];
    const res = await fetch(`${cluster.url}/v1/batches?model=lookup_small`, { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=20`)).body;
    expect(done).toMatchObject({ status: 'failed', counts: { total: 2, succeeded: 0, failed: 2 }, error: { type: 'inference-failed' } }); // no line succeeded
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(results[0].error.message).toMatch(/100/);
    expect(results[0].error.message).not.toMatch(/200/);
    expect(results[1].error.message).toMatch(/200/);
    expect(results[1].error.message).not.toMatch(/100/);
  });
});

describe('a batch whose every line fails the run', () => {
  it('ends with every line failed, each with its error, without a run a row', async () => {
    const lines = Array.from({ length: 600 }, (_, k) => JSON.stringify({ custom_id: `x${k}`, inputs: { idx: [999] } }));
    const res = await fetch(`${cluster.url}/v1/batches?model=lookup`, { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=30`)).body;
    expect(done).toMatchObject({ status: 'failed', counts: { total: 600, succeeded: 0, failed: 600 }, error: { type: 'inference-failed' } }); // no line succeeded
    const results = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(results).toHaveLength(600);
    // The first 256 lines to fail fail alone, with their own message; past them a failing run's
    // lines fail together, with a message that holds no line's values.
    for (const r of results) expect(r.error).toMatchObject({ type: 'inference-failed', message: expect.stringMatching(/999|not run again one by one/) });
    expect(results.filter((r) => /999/.test(r.error.message)).length).toBeGreaterThanOrEqual(256);
    expect(results.filter((r) => /one by one/.test(r.error.message)).length).toBeGreaterThan(0);
  });
});

describe('outputs whose first dimension is not the rows', () => {
  it('an output named apart from the rows: the model runs each request alone, and each gets all of its own values', async () => {
    const meta = await call(cluster.url, 'GET', '/v2/models/flatten/config');
    expect(meta.body.max_batch_size).toBe(0);
    const sent = Array.from({ length: 8 }, (_, k) => [k * 10, k * 10 + 1]);
    const replies = await Promise.all(sent.map((x) => infer('flatten', 'x', 'FP32', x, 2)));
    replies.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.outputs[0]).toMatchObject({ name: 'y', shape: [2], data: sent[k] });
    });
    const three = await infer('flatten', 'x', 'FP32', [1, 2, 3, 4, 5, 6], 2);
    expect(three.body.outputs[0]).toMatchObject({ shape: [6], data: [1, 2, 3, 4, 5, 6] });
  });

  it('a model that cannot batch answers its outputs whole, by v2 infer and as a job', async () => {
    const r = await infer('transpose', 'x', 'FP32', [1, 2, 3, 4, 5, 6], 2);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.outputs[0]).toMatchObject({ shape: [2, 3], data: [1, 3, 5, 2, 4, 6] });
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'transpose', inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }] }, { prefer: 'wait=20' });
    expect(job.status).toBe(200);
    const read = await call(cluster.url, 'GET', `/v1/jobs/${job.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.outputs[0]).toMatchObject({ shape: [2, 3], data: [1, 3, 5, 2, 4, 6] });
  });

  it('a max_batch_size the model does not honour: its requests fail, saying so, and never take rows that are not theirs', async () => {
    const sent = Array.from({ length: 6 }, (_, k) => [k, k + 0.5]);
    const replies = await Promise.all(sent.map((x) => infer('flatten_told', 'x', 'FP32', x, 2)));
    for (const r of replies) {
      expect(r.status).toBe(500);
      expect(r.body.detail).toMatch(/output y has \d+ in its first dimension for a run of \d+ rows/);
    }
  });
});

describe('a model with an output that is not per row (`total`: the largest value of all, and each row\'s)', () => {
  it('answers each request with its own run, and refuses a batch file, whose lines it could not answer (they came back invalid, wrong or a 500)', async () => {
    const r = await infer('total', 'x', 'FP32', [1, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.outputs).toEqual([
      { name: 'total', datatype: 'FP32', shape: [], data: [8] },
      { name: 'rowmax', datatype: 'FP32', shape: [2], data: [4, 8] },
    ]);
    const line = JSON.stringify({ custom_id: 'a', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    const upload = await fetch(`${cluster.url}/v1/batches?model=total`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${line}\n` });
    expect(upload.status).toBe(400);
    expect(((await upload.json()) as { detail: string }).detail).toMatch(/total cannot answer a batch file a line at a time: it cannot batch, and its outputs' first dimension is not a line's rows\. Send its requests through v2 infer or \/v1\/jobs/);
  });
});

describe('a model whose output\'s first dimension has no name (`batch_mean`: the mean over the rows)', () => {
  it('runs each request alone, so concurrent requests each get their own mean (packed, every one failed: a 500 blaming a config.json it did not have)', async () => {
    expect((await call(cluster.url, 'GET', '/v1/models')).body.models.find((m: { name: string }) => m.name === 'batch_mean')).toMatchObject({ max_batch_size: 0 });
    const sent = Array.from({ length: 8 }, (_, k) => [k, k + 1, k + 2, k + 3]);
    const replies = await Promise.all(sent.map((x) => infer('batch_mean', 'x', 'FP32', x, 4)));
    replies.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.outputs[0]).toMatchObject({ name: 'mean', shape: [1, 4], data: sent[k] });
    });
    const two = await infer('batch_mean', 'x', 'FP32', [1, 2, 3, 4, 3, 4, 5, 6], 4);
    expect(two.body.outputs[0]).toMatchObject({ shape: [1, 4], data: [2, 3, 4, 5] });
  });
});
