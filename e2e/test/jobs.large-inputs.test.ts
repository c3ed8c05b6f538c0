/**
 * Jobs with large inputs (at least RAW_PAYLOAD_MIN_BYTES of numeric data) carry them as raw
 * bytes in a key beside the job, not as base64 inside its JSON: real API, worker, Redis and
 * ONNX Runtime. Checked: the stored bytes are the request's, the job's data holds none, the
 * outputs equal a direct ONNX Runtime run through every front door, and the key goes away
 * however the job ends (success, cancel while queued, a retry after a lost session thread);
 * a job whose key is gone before it runs fails as expired instead of running on nothing.
 */
import { join } from 'node:path';
import { jobIndexKey, jobPayloadKey, parseJobIndex, RAW_PAYLOAD_MIN_BYTES } from '@maas/shared';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  binaryBody, call, Cluster, eventually, fromBytes, InferenceClient, post, rows, runAlone, SHIPPED_MODELS, toBytes,
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

describe('large inputs beside the job', () => {
  let cluster: Cluster;
  let redis: Redis;
  let grpc: InferenceClient;
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0, worker: { WORKER_MODELS: 'mlp' }, api: { JOB_RETENTION_S: '600' } });
    redis = cluster.redisClient();
    grpc = new InferenceClient(cluster.grpcAddress);
  });
  afterAll(async () => {
    grpc?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

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
