/**
 * The response cache (inference/response-cache.ts, Triton's `response_cache`): for a model whose
 * config.json says `"response_cache": true`, a v2 infer request whose tenant, version and inputs
 * were answered before is answered from the API's memory, through every front door (REST JSON,
 * the binary extension, gRPC), never queued: it answers with no worker running. Other tenants,
 * other inputs, models without it and `/v1/jobs` always run. Hits and misses show in Triton's
 * statistics and in /metrics. A model file replaced, or new labels, key afresh; an answer a
 * worker computed with a file the API no longer serves is never kept.
 */
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlpModel } from '@maas/model-gen/mlp';
import { binaryBody, call, Cluster, eventually, fromBytes, InferenceClient, modelRepository, post, rows, runAlone, toBytes } from '../src/harness/index.js';

const KEY = 'key-a';
const AUTH = { authorization: `Bearer ${KEY}` };
const AUTH_B = { authorization: 'Bearer key-b' };
let repo: Awaited<ReturnType<typeof modelRepository>>;
let cluster: Cluster;
let grpc: InferenceClient;

beforeAll(async () => {
  repo = await modelRepository({ mlp: { response_cache: true } });
  cluster = await Cluster.start({ models: repo.dir, workers: 1, api: { API_KEYS: `a:${KEY},b:key-b` } });
  grpc = new InferenceClient(cluster.grpcAddress, KEY);
});
afterAll(async () => {
  grpc?.close();
  await cluster?.stop();
  await repo?.remove();
});

const data = rows(11, 3, 32);
const body = (d: number[][], extra: Record<string, unknown> = {}) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [d.length, 32], data: d.flat() }], ...extra });
const infer = (d: number[][], auth = AUTH, extra: Record<string, unknown> = {}) => call(cluster.url, 'POST', '/v2/models/mlp/infer', body(d, extra), auth);
const metric = async (result: string) => {
  const text = (await call(cluster.url, 'GET', '/metrics', undefined, AUTH)).body as string;
  return Number(new RegExp(`^maas_response_cache_requests_total\\{model="mlp",result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};

/** BullMQ's stored results (returnvalue) of a model's jobs, read from Redis. */
async function storedResults(model: string): Promise<{ ran?: string }[]> {
  const redis = cluster.redisClient();
  try {
    const keys = await redis.keys(`maas:{infer-${model}-v*}:*`);
    const values = await Promise.all(keys.map(async (k) => ((await redis.type(k)) === 'hash' ? redis.hget(k, 'returnvalue') : null)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as { ran?: string });
  } finally {
    redis.disconnect();
  }
}

describe('the response cache', () => {
  it('answers the same inputs again from the first job, through REST, the binary extension and gRPC', async () => {
    const alone = await runAlone(join(repo.dir, 'mlp/1/model.onnx'), 'input', 'output', data);
    const first = await infer(data, AUTH, { id: 'first' });
    expect(first.status).toBe(200);
    const jobId = first.headers.get('x-job-id');
    expect(first.body.outputs[0].data).toEqual(alone.flat());
    expect(await metric('miss')).toBe(1);

    const again = await infer(data, AUTH, { id: 'again' });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-job-id')).toBe(jobId); // the job that computed it
    expect(again.body).toMatchObject({ id: 'again', model_name: 'mlp', model_version: '1' });
    expect(again.body.outputs).toEqual(first.body.outputs);
    expect((await infer(data)).body.id).toBe(jobId); // no id: the computing job's, as for a run

    // Binary outputs, binary inputs: the same key (how outputs are written does not count).
    const { body: bin, headerLength } = binaryBody({ parameters: { binary_data_output: true } }, [{ name: 'input', datatype: 'FP32', shape: [3, 32], values: data.flat() }]);
    const b = await post(`${cluster.url}/v2/models/mlp/infer`, bin, { 'inference-header-content-length': String(headerLength), ...AUTH });
    expect(b.status).toBe(200);
    expect(b.headers['x-job-id']).toBe(jobId);
    expect(b.binary['output']).toEqual(alone.flat().map((v) => Math.fround(v)));

    const g = await grpc.call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 32] }], raw_input_contents: [toBytes('FP32', data.flat())] });
    expect(fromBytes('FP32', g.raw_output_contents[0])).toEqual(alone.flat().map((v) => Math.fround(v)));
    expect(await metric('hit')).toBe(4);
    expect(await metric('miss')).toBe(1);
  });

  it('keys by tenant and inputs; a model without it and /v1/jobs always run', async () => {
    const hits = await metric('hit');
    const other = await infer(data, AUTH_B);
    expect(other.status).toBe(200);
    const changed = data.map((r, i) => (i === 1 ? r.map((v, j) => (j === 0 ? v + 1 : v)) : r));
    const alone = await runAlone(join(repo.dir, 'mlp/1/model.onnx'), 'input', 'output', changed);
    const c = await infer(changed);
    expect(c.body.outputs[0].data).toEqual(alone.flat());
    expect(await metric('hit')).toBe(hits); // two misses
    expect(await metric('miss')).toBe(3);

    const penguins = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [40, 18, 190, 3700] }] };
    const p1 = await call(cluster.url, 'POST', '/v2/models/penguins/infer', penguins, AUTH);
    const p2 = await call(cluster.url, 'POST', '/v2/models/penguins/infer', penguins, AUTH);
    expect(p1.headers.get('x-job-id')).not.toBe(p2.headers.get('x-job-id'));
    // What the runner ran travels in the stored results of a model with the cache only.
    expect((await storedResults('penguins')).map((r) => r.ran)).toEqual([undefined, undefined]);
    expect((await storedResults('mlp')).every((r) => typeof r.ran === 'string' && r.ran.length > 0)).toBe(true);

    const job = { model: 'mlp', ...body(data) };
    const j1 = await call(cluster.url, 'POST', '/v1/jobs', job, { ...AUTH, prefer: 'wait=10' });
    const j2 = await call(cluster.url, 'POST', '/v1/jobs', job, { ...AUTH, prefer: 'wait=10' });
    expect(j1.body.status).toBe('succeeded');
    expect(j2.body.status).toBe('succeeded');
    expect(j2.body.id).not.toBe(j1.body.id);
    expect(await metric('hit')).toBe(hits);
  });

  it('shows in Triton\'s statistics: hits are successes, never inferences or executions', async () => {
    const stats = await eventually(
      async () => (await call(cluster.url, 'GET', '/v2/models/mlp/versions/1/stats', undefined, AUTH)).body.model_stats[0],
      // the API's counts and the worker's, each written within 100 ms
      (s) => s.inference_stats.cache_hit.count === 4 && s.inference_stats.cache_miss.count === 3 && s.inference_stats.success.count === 4 + 3 + 2,
      { ms: 5000, what: 'the cache counts in the statistics' },
    );
    expect(stats.inference_stats.cache_hit.ns).toBeGreaterThan(0);
    // successes: 4 hits + the runs (3 misses + 2 jobs); executions and rows: the runs' only
    expect(stats.inference_stats.success.count).toBe(4 + 3 + 2);
    expect(stats.inference_count).toBe(3 * 5);
    const config = await call(cluster.url, 'GET', '/v2/models/mlp/config', undefined, AUTH);
    expect(config.body.response_cache).toEqual({ enable: true });
    expect((await call(cluster.url, 'GET', '/v2/models/penguins/config', undefined, AUTH)).body.response_cache).toEqual({ enable: false });
  });

  it('a hit is never queued: with no worker left it still answers, where a new request waits', async () => {
    await cluster.workers[0]!.stop();
    const hit = await infer(data);
    expect(hit.status).toBe(200);
    expect(hit.body.outputs[0].shape).toEqual([3, 2]);
    const miss = await call(cluster.url, 'POST', '/v2/models/mlp/infer', body(rows(99, 1, 32)), AUTH, 1500).catch((err: Error) => err);
    expect(miss).toBeInstanceOf(Error); // still waiting for a worker when the client gave up
  });
});

describe('the response cache across a model change', () => {
  const ADMIN_KEY = 'admin-key-0123456789';
  let repo2: Awaited<ReturnType<typeof modelRepository>>;
  let c2: Cluster;
  beforeAll(async () => {
    repo2 = await modelRepository({ mlp: { response_cache: true }, penguins: { response_cache: true } });
    // The API notices changes on disk within a second; the worker only when told (a load).
    c2 = await Cluster.start({
      models: repo2.dir, workers: 1,
      api: { API_KEYS: `a:${KEY}`, ADMIN_KEY, MODEL_REPOSITORY_POLL_S: '1' },
      worker: { MODEL_REPOSITORY_POLL_S: '3600' },
    });
  });
  afterAll(async () => {
    await c2?.stop();
    await repo2?.remove();
  });
  const ask = () => call(c2.url, 'POST', '/v2/models/mlp/infer', body(data), AUTH);

  it('the same bytes written again key alike; a new file the worker does not run yet is not kept until it does', async () => {
    const first = (await ask()).headers.get('x-job-id');
    expect((await ask()).headers.get('x-job-id')).toBe(first); // kept
    // The same model written again: a new stamp, the same digest. Once the API has read it (its
    // poll: 1 s), the answer is still the kept one.
    const file = join(repo2.dir, 'mlp/1/model.onnx');
    await copyFile(file, `${file}.new`);
    await rename(`${file}.new`, file);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await ask()).headers.get('x-job-id')).toBe(first);
    // Another model of the same signature under the same version: the API keys afresh once it
    // has read it; the worker still runs its old session, so that answer is not kept.
    await writeFile(`${file}.new`, buildMlpModel(undefined, 424242));
    await rename(`${file}.new`, file);
    const second = await eventually(async () => (await ask()).headers.get('x-job-id'), (id) => id !== first, { ms: 10_000, what: 'the API to key by the new file' });
    const third = (await ask()).headers.get('x-job-id');
    expect(third).not.toBe(second);
    // Once the worker runs the new file too (a load), answers are kept again, the new file's.
    const load = await call(c2.url, 'POST', '/v2/repository/models/mlp/load', undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(load.status).toBe(200);
    const alone = await runAlone(file, 'input', 'output', data);
    const kept = await eventually(
      async () => [await ask(), await ask()] as const,
      ([a, b]) => a.headers.get('x-job-id') === b.headers.get('x-job-id') && JSON.stringify(a.body.outputs[0].data) === JSON.stringify(alone.flat()),
      { ms: 15_000, every: 200, what: 'the new file\'s answers kept once the worker has reopened the model' },
    );
    expect(kept[1].body.outputs[0].data).toEqual(alone.flat());
    expect(kept[0].headers.get('x-job-id')).not.toBe(first);
  });

  it('new labels (labels.txt): classification answers are keyed afresh', async () => {
    const req = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }], outputs: [{ name: 'probabilities', parameters: { classification: 1 } }] };
    const before = await call(c2.url, 'POST', '/v2/models/penguins/infer', req, AUTH);
    expect(before.body.outputs[0].data[0]).toMatch(/:Adelie$/);
    const labels = join(repo2.dir, 'penguins/labels.txt');
    await writeFile(`${labels}.new`, 'PINGU_A\nPINGU_C\nPINGU_G\n');
    await rename(`${labels}.new`, labels);
    await call(c2.url, 'POST', '/v2/repository/models/penguins/load', undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    const after = await eventually(
      () => call(c2.url, 'POST', '/v2/models/penguins/infer', req, AUTH),
      (r) => /:PINGU_A$/.test(String(r.body.outputs?.[0]?.data?.[0])),
      { ms: 15_000, every: 200, what: 'the new labels in the answer' },
    );
    expect(after.headers.get('x-job-id')).not.toBe(before.headers.get('x-job-id'));
  });
});
