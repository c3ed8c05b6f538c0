/**
 * Large tensors (at least RAW_PAYLOAD_MIN_BYTES of numeric data) travel as raw bytes in keys
 * beside their job, not as base64 inside its JSON: real API, worker, Redis and ONNX Runtime.
 * Inputs: the stored bytes are the request's, the job's data holds none, the outputs equal a
 * direct ONNX Runtime run through every front door, and the key goes away however the job ends
 * (success, cancel while queued, a retry after a lost session thread); a job whose key is gone
 * before it runs fails as expired instead of running on nothing. Outputs: stored once, as
 * bytes, for as long as the job's record (neither BullMQ's job hash nor its events stream holds
 * them), and every way of reading them (v2 JSON and binary, gRPC, waited and later GETs of
 * /v1/jobs, a packed member, the webhook) gives what ONNX Runtime gives.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildWideOutputModel, WIDE_OUT_INPUTS } from '@maas/model-gen/test-models';
import { jobIndexKey, jobPayloadKey, jobResultKey, parseJobIndex, RAW_PAYLOAD_MIN_BYTES } from '@maas/shared';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addModel, binaryBody, call, Cluster, eventually, fromBytes, get, InferenceClient, modelRepository, post, rows, runAlone, SHIPPED_MODELS, toBytes, WebhookReceiver,
} from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
/** 600 rows of 32 FP32: 76,800 bytes, over the threshold; one row is far under it. */
const LARGE_ROWS = 600;
const mlpJob = (data: number[][]) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }] });
const f32 = (data: number[][]) => Buffer.from(Float32Array.from(data.flat()).buffer);

/** The BullMQ job behind public job `id` (itself, or the carrier it was packed into) and its payload key. */
async function bullJob(redis: Redis, id: string): Promise<{ queue: string; bullId: string; payloadKey: string }> {
  const { queue, carrier } = parseJobIndex((await redis.get(jobIndexKey(id)))!);
  const bullId = carrier ?? id;
  return { queue, bullId, payloadKey: jobPayloadKey(queue, bullId) };
}

const gone = (redis: Redis, key: string) =>
  eventually(() => redis.exists(key), (n) => n === 0, { ms: 10_000, what: `${key} removed` });

it('the test rows are on the right sides of the threshold', () => {
  expect(LARGE_ROWS * 32 * 4).toBeGreaterThanOrEqual(RAW_PAYLOAD_MIN_BYTES);
  expect(32 * 4).toBeLessThan(RAW_PAYLOAD_MIN_BYTES);
});

/** A cluster with a Redis client and a gRPC client beside it, closed by `close`. */
async function open(opts: Parameters<typeof Cluster.start>[0]) {
  const cluster = await Cluster.start(opts);
  const redis = cluster.redisClient();
  const grpc = new InferenceClient(cluster.grpcAddress);
  return {
    cluster, redis, grpc, close: async () => {
      grpc.close();
      redis.disconnect();
      await cluster.stop();
    },
  };
}

describe('large inputs beside the job', () => {
  let cluster: Cluster;
  let redis: Redis;
  let grpc: InferenceClient;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ cluster, redis, grpc, close } = await open({ workers: 0, worker: { WORKER_MODELS: 'mlp' }, api: { JOB_RETENTION_S: '600' } }));
  });
  afterAll(async () => close?.());

  it('are stored raw while queued and removed however the job ends: run, canceled, or expired', async () => {
    const large = rows(41, LARGE_ROWS, 32);
    // Queued with no worker running, so the stored state can be read.
    const ran = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(large));
    const canceled = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(42, LARGE_ROWS, 32)));
    const expired = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(43, LARGE_ROWS, 32)));
    const small = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(44, 1, 32)));
    for (const r of [ran, canceled, expired, small]) expect(r.status, JSON.stringify(r.body)).toBe(202);

    const r = await bullJob(redis, ran.body.id);
    expect(await redis.getBuffer(r.payloadKey)).toEqual(f32(large));
    const ttl = await redis.ttl(r.payloadKey);
    expect(ttl).toBeGreaterThan(600); // JOB_RETENTION_S + 1 h, as the job's index
    expect(ttl).toBeLessThanOrEqual(600 + 3600);
    const data = JSON.parse((await redis.hget(`maas:${r.queue}:${r.bullId}`, 'data'))!) as { payload: string; inputs: Record<string, unknown>[] };
    expect(data.payload).toBe(r.payloadKey);
    expect(data.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [LARGE_ROWS, 32], at: [0, LARGE_ROWS * 32 * 4] }]);

    const s = await bullJob(redis, small.body.id);
    expect(await redis.exists(s.payloadKey)).toBe(0);
    const smallData = JSON.parse((await redis.hget(`maas:${s.queue}:${s.bullId}`, 'data'))!) as { payload?: string; inputs: { b64?: string }[] };
    expect(smallData.payload).toBeUndefined();
    expect(typeof smallData.inputs[0]!.b64).toBe('string');

    expect((await call(cluster.url, 'POST', `/v1/jobs/${canceled.body.id}/cancel`)).status).toBe(200);
    // A payload that outlived its TTL (simulated): the job must not run without its inputs.
    const e = await bullJob(redis, expired.body.id);
    await redis.del(e.payloadKey);

    await cluster.startWorker();
    const end = async (id: string) => (await call(cluster.url, 'GET', `/v1/jobs/${id}?wait=30`)).body;
    const [ranEnd, canceledEnd, expiredEnd, smallEnd] = await Promise.all([ran, canceled, expired, small].map((j) => end(j.body.id)));
    expect(ranEnd.status).toBe('succeeded');
    const want = await runAlone(MLP, 'input', 'output', large);
    expect(ranEnd.outputs[0].data).toEqual(want.flat());
    expect(canceledEnd.status).toBe('canceled');
    expect(expiredEnd).toMatchObject({ status: 'failed', error: { type: 'expired' } });
    expect(expiredEnd.error.message).toMatch(/input is no longer stored/);
    expect(smallEnd.status).toBe('succeeded');
    const c = await bullJob(redis, canceled.body.id);
    await Promise.all([gone(redis, r.payloadKey), gone(redis, c.payloadKey)]);
  });

  it('v2 binary, v2 JSON, gRPC and a waited /v1/jobs each answer what ONNX Runtime gives, and leave no payload behind', async () => {
    if (cluster.workers.length === 0) await cluster.startWorker();
    const data = rows(45, LARGE_ROWS, 32);
    const want = (await runAlone(MLP, 'input', 'output', data)).flat();
    const infer = `${cluster.url}/v2/models/mlp/infer`;

    const { body, headerLength } = binaryBody({ outputs: [{ name: 'output', parameters: { binary_data: true } }] },
      [{ name: 'input', datatype: 'FP32', shape: [LARGE_ROWS, 32], values: data.flat() }]);
    const binary = await post(infer, body, { 'inference-header-content-length': String(headerLength) });
    expect(binary.status, binary.body.toString()).toBe(200);
    expect(binary.binary['output']).toEqual(want);

    const json = await call(cluster.url, 'POST', '/v2/models/mlp/infer', { inputs: mlpJob(data).inputs });
    expect(json.status).toBe(200);
    expect(json.body.outputs[0].data).toEqual(want);

    const g = await grpc.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [LARGE_ROWS, 32] }], raw_input_contents: [toBytes('FP32', data.flat())],
    });
    expect(fromBytes('FP32', Buffer.from(g.raw_output_contents[0]!))).toEqual(want);

    const waited = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(data), { prefer: 'wait=30' });
    expect(waited.body.status).toBe('succeeded');
    expect(waited.body.outputs[0].data).toEqual(want);
    await eventually(() => redis.keys('maas:*:payload'), (keys) => keys.length === 0, { ms: 10_000, what: 'no payload key left' });
  });
});

describe('large JSON bodies of flat FP32 data (read without JSON.parse, http/tensor-json.ts)', () => {
  let c: Awaited<ReturnType<typeof open>> | undefined;
  beforeAll(async () => {
    c = await open({ workers: 1, worker: { WORKER_MODELS: 'mlp' } });
  });
  afterAll(async () => c?.close());

  it('answer what ONNX Runtime gives for the float32s of their values, as the same body gzipped (read by JSON.parse) does; refused ones as before', async () => {
    const { cluster } = c!;
    const data = rows(47, 400, 32);
    const flat = data.flat();
    // what a JSON library prints: 17 digits a value, flat data; over the size at which the body is read this way
    const text = JSON.stringify({ id: 'big', inputs: [{ name: 'input', shape: [400, 32], datatype: 'FP32', data: flat }] });
    expect(Buffer.byteLength(text)).toBeGreaterThan(64 * 1024);
    const want = (await runAlone(MLP, 'input', 'output', data.map((r) => r.map(Math.fround)))).flat();
    const infer = `${cluster.url}/v2/models/mlp/infer`;
    const plain = await post(infer, Buffer.from(text), { 'content-type': 'application/json' });
    expect(plain.status, plain.body.toString()).toBe(200);
    const answer = JSON.parse(plain.body.toString()) as { id: string; outputs: { data: number[] }[] };
    expect(answer.id).toBe('big');
    expect(answer.outputs[0]!.data).toEqual(want);
    const zipped = await post(infer, gzipSync(text), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(JSON.parse(zipped.body.toString()).outputs).toEqual(answer.outputs);
    // /v1/jobs, no Content-Type (as KServe's clients send it), waited
    const job = await post(`${cluster.url}/v1/jobs`, Buffer.from(JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', shape: [400, 32], datatype: 'FP32', data: flat }] })), { prefer: 'wait=30' });
    expect(job.status, job.body.toString()).toBe(200);
    expect(JSON.parse(job.body.toString()).outputs[0].data).toEqual(want);
    // refused exactly as JSON.parse's reading is: a value out of range, a value short, bad JSON
    const bad = async (body: string) => JSON.parse((await post(infer, Buffer.from(body), { 'content-type': 'application/json' })).body.toString()) as { status: number; type: string; detail: string };
    const outOfRange = await bad(text.replace(/"data":\[[^,]+,/, '"data":[1e39,'));
    expect(outOfRange).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
    expect(outOfRange.detail).toMatch(/out of the FP32 range/);
    expect(await bad(text.replace(/"data":\[[^,]+,/, '"data":['))).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
    expect(await bad(text.slice(0, -2))).toMatchObject({ status: 400, type: 'urn:maas:problem:malformed-json' });
  });
});

describe('large inputs and retries', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });

  it('a job whose session thread died mid-run keeps its payload for the retry, succeeds, then drops it', async () => {
    // Test hook: the first session thread exits when its first run arrives (no inline runs).
    const cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp', WORKER_TEST_SESSION_EXIT_ON_RUN: '1', WORKER_INLINE_MAX_MS: '0' } });
    const redis = cluster.redisClient();
    stops.push(async () => {
      redis.disconnect();
      await cluster.stop();
    });
    const data = rows(46, LARGE_ROWS, 32);
    const done = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(data), { prefer: 'wait=30' });
    expect(done.body.status, JSON.stringify(done.body)).toBe('succeeded');
    expect(done.body.outputs[0].data).toEqual((await runAlone(MLP, 'input', 'output', data)).flat());
    expect(cluster.workers[0]!.log).toMatch(/session thread lost; replacing it/);
    const j = await bullJob(redis, done.body.id);
    expect(Number(await redis.hget(`maas:${j.queue}:${j.bullId}`, 'atm'))).toBe(2); // attempts made: the lost run, then the retry
    await gone(redis, j.payloadKey);
  });
});

describe('large outputs beside the job', () => {
  /** 256 FP32 outputs a row: 1 KB; 100 rows are over the threshold, 10 under it. */
  const WIDTH = 256;
  const ROWS = 100;
  let cluster: Cluster;
  let redis: Redis;
  let grpc: InferenceClient;
  let close: (() => Promise<void>) | undefined;
  let receiver: WebhookReceiver;
  let repo: Awaited<ReturnType<typeof modelRepository>>;
  let modelPath: string;
  beforeAll(async () => {
    repo = await modelRepository();
    modelPath = await addModel(repo.dir, 'wide', buildWideOutputModel(WIDTH), { max_batch_size: 256 });
    receiver = await WebhookReceiver.start(0);
    ({ cluster, redis, grpc, close } = await open({
      models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'wide', WEBHOOK_ALLOW_PRIVATE: 'true' }, api: { WEBHOOK_ALLOW_PRIVATE: 'true', JOB_RETENTION_S: '600' },
    }));
  });
  afterAll(async () => {
    await close?.();
    await receiver?.close();
    await repo?.remove();
  });

  const input = (count: number, seed: number) => Array.from({ length: count }, (_, i) => Array.from({ length: WIDE_OUT_INPUTS }, (_, k) => (((i + seed) * 7 + k * 3) % 11) / 11 - 0.5));
  const wideJob = (data: number[][], extra: Record<string, unknown> = {}) => ({ model: 'wide', inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length, WIDE_OUT_INPUTS], data }], ...extra });

  it('are stored once, as raw bytes kept as long as the job, and every read of the job gives them', async () => {
    expect(ROWS * WIDTH * 4).toBeGreaterThanOrEqual(RAW_PAYLOAD_MIN_BYTES);
    const data = input(ROWS, 1);
    const want = (await runAlone(modelPath, 'x', 'y', data)).flat();
    const done = await call(cluster.url, 'POST', '/v1/jobs', wideJob(data, { webhook: receiver.url }), { prefer: 'wait=30' });
    expect(done.body.status, JSON.stringify(done.body).slice(0, 300)).toBe('succeeded');
    expect(done.body.outputs[0].data).toEqual(want);

    const j = await bullJob(redis, done.body.id);
    const key = jobResultKey(j.queue, j.bullId);
    expect(await redis.getBuffer(key)).toEqual(Buffer.from(Float32Array.from(want).buffer));
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(600); // the job's record age (JOB_RETENTION_S) and an hour
    expect(ttl).toBeLessThanOrEqual(600 + 3600);
    const returnvalue = JSON.parse((await redis.hget(`maas:${j.queue}:${j.bullId}`, 'returnvalue'))!) as { payload: string; outputs: Record<string, unknown>[] };
    expect(returnvalue.payload).toBe(key);
    expect(returnvalue.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [ROWS, WIDTH], at: [0, ROWS * WIDTH * 4] }]);
    // BullMQ's events stream carries that small result, not the outputs.
    const events = await redis.xrevrange(`maas:${j.queue}:events`, '+', '-', 'COUNT', 50);
    expect(Math.max(...events.map(([, fields]) => fields.join('').length))).toBeLessThan(4096);

    // Read again later (not from the completion's announcement), and as its webhook.
    const later = await call(cluster.url, 'GET', `/v1/jobs/${done.body.id}`);
    expect(later.body.outputs[0].data).toEqual(want);
    // As bytes (the binary tensor extension), for a client that prefers them to JSON.
    const bytes = await get(`${cluster.url}/v1/jobs/${done.body.id}`, { accept: 'application/octet-stream, application/json;q=0.5' });
    expect(bytes.status).toBe(200);
    expect(bytes.headers['content-type']).toBe('application/octet-stream');
    expect(bytes.headers['vary']).toMatch(/Accept\b/);
    expect(bytes.json).toMatchObject({ id: done.body.id, status: 'succeeded', outputs: [{ name: 'y', datatype: 'FP32', shape: [ROWS, WIDTH], parameters: { binary_data_size: ROWS * WIDTH * 4 } }] });
    expect(bytes.json.outputs[0].data).toBeUndefined();
    expect(bytes.binary['y']).toEqual(want);
    expect(bytes.body.byteLength).toBe(Number(bytes.headers['inference-header-content-length']) + ROWS * WIDTH * 4);
    // JSON still, for a client that prefers it or names neither.
    for (const accept of ['application/json, application/octet-stream;q=0.5', '*/*']) {
      const j = await get(`${cluster.url}/v1/jobs/${done.body.id}`, { accept });
      expect(j.headers['content-type'], accept).toMatch(/^application\/json/);
      expect(j.json.outputs[0].data).toEqual(want);
    }
    const completed = (r: { body: string }) => (JSON.parse(r.body) as { type: string; data: { id: string } });
    const hooks = await receiver.until((all) => all.some((r) => completed(r).type === 'job.completed' && completed(r).data.id === done.body.id), 15_000, 'the job.completed webhook');
    const hook = JSON.parse(hooks.find((r) => completed(r).type === 'job.completed')!.body) as { data: { outputs: { data: number[] }[] } };
    expect(hook.data.outputs[0]!.data).toEqual(want);
  });

  it('v2 JSON and binary, gRPC and packed members each answer their own rows of what ONNX Runtime gives', async () => {
    const data = input(ROWS, 2);
    const want = (await runAlone(modelPath, 'x', 'y', data)).flat();
    const infer = `${cluster.url}/v2/models/wide/infer`;
    const json = await call(cluster.url, 'POST', '/v2/models/wide/infer', { inputs: wideJob(data).inputs });
    expect(json.status).toBe(200);
    expect(json.body.outputs[0].data).toEqual(want);
    const { body, headerLength } = binaryBody({ outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [{ name: 'x', datatype: 'FP32', shape: [ROWS, WIDE_OUT_INPUTS], values: data.flat() }]);
    const binary = await post(infer, body, { 'inference-header-content-length': String(headerLength) });
    expect(binary.status).toBe(200);
    expect(binary.binary['y']).toEqual(want);
    const g = await grpc.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'wide', inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, WIDE_OUT_INPUTS] }], raw_input_contents: [toBytes('FP32', data.flat())],
    });
    expect(fromBytes('FP32', Buffer.from(g.raw_output_contents[0]!))).toEqual(want);

    // Creates of one turn packed into one carrier job whose outputs (together) are large.
    const parts = [data.slice(0, 60), data.slice(60, 70), data.slice(70)];
    const created = await Promise.all(parts.map((p) => call(cluster.url, 'POST', '/v1/jobs', wideJob(p))));
    const ends = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    let offset = 0;
    ends.forEach((e, i) => {
      expect(e.body.status).toBe('succeeded');
      expect(e.body.outputs[0].data).toEqual(want.slice(offset * WIDTH, (offset + parts[i]!.length) * WIDTH));
      offset += parts[i]!.length;
    });
  });
});
