/**
 * Hot model changes (Triton's poll mode): files dropped into the running cluster's model
 * repository are picked up by the API and the worker without a restart or a load call, and a
 * broken new version never replaces a working one. Real redis-server, API and worker polling
 * a temporary copy of models/ every second; each step waits for the cluster to show the change
 * (index, heartbeat, logs) and then checks what requests get. Results are checked against a
 * direct ONNX Runtime run.
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUnknownOpModel } from '@maas/model-gen/test-models';
import { WORKERS_INFO_KEY } from '@maas/shared';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, modelRepository, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
const POLL = { MODEL_REPOSITORY_POLL_S: '1' };
let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };
let redis: Redis;

beforeAll(async () => {
  repo = await modelRepository();
  cluster = await Cluster.start({ models: repo.dir, api: POLL, worker: POLL });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
  await repo?.remove();
});

interface IndexEntry { name: string; version?: string; state: string; reason: string }
const input = rows(7, 3, 32);
const inferBody = { inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 32], data: input }] };
const infer = (model: string, version?: number) =>
  call(cluster.url, 'POST', `/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, inferBody, {}, 30_000);
const index = async () => (await call<IndexEntry[]>(cluster.url, 'POST', '/v2/repository/index', {})).body;
const entry = async (name: string, version?: number) => (await index()).find((e) => e.name === name && e.version === (version === undefined ? undefined : String(version)));
/** The versions of `model` the worker's heartbeat says it serves. */
const workerServes = async (model: string): Promise<number[]> => {
  const infos = Object.values(await redis.hgetall(WORKERS_INFO_KEY)).map((j) => JSON.parse(j) as { models: { model: string; version: number }[] });
  return infos.flatMap((w) => w.models).filter((m) => m.model === model).map((m) => m.version).sort();
};
const opts = (what: string) => ({ ms: 30_000, what, context: () => cluster.logs() });
const put = async (rel: string, bytes: Uint8Array | string) => writeFile(join(repo.dir, rel), bytes);
const copyVersion = (to: string) => cp(join(SHIPPED_MODELS, 'mlp/1'), join(repo.dir, to), { recursive: true });

function expectClose(actual: number[], expected: number[], tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol));
}

describe('hot model changes, found by polling the repository', () => {
  it('a model folder added while running is served by the API and the worker', async () => {
    expect((await infer('hot')).status).toBe(404);
    await copyVersion('hot/1');
    await eventually(() => entry('hot', 1), (e) => e?.state === 'READY', opts('hot/1 READY in the index'));
    await eventually(() => workerServes('hot'), (v) => v.join() === '1', opts('the worker serving hot/1'));
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('1');
    expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
  });

  it('a new version becomes the default, on the API and the worker', async () => {
    await copyVersion('hot/2');
    await eventually(() => entry('hot', 2), (e) => e?.state === 'READY', opts('hot/2 READY'));
    await eventually(() => workerServes('hot'), (v) => v.join() === '2', opts('the worker serving hot/2 only (latest 1)'));
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('2');
    expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
    expect((await infer('hot', 1)).status).toBe(404); // no longer served (latest 1)
  });

  it('a broken new version (garbage bytes) leaves the previous one serving and is UNAVAILABLE with its reason', async () => {
    await copyVersion('hot/3');
    await put('hot/3/model.onnx', 'these bytes are not an ONNX model');
    const broken = await eventually(() => entry('hot', 3), (e) => e !== undefined, opts('hot/3 in the index'));
    expect(broken).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/3\/model\.onnx: not a valid ONNX file/) });
    expect(await entry('hot', 2)).toMatchObject({ state: 'READY' });
    await cluster.api.waitFor(/"version":3.*model version unavailable/);
    await cluster.workers[0]!.waitFor(/"model":"hot:3".*model version unavailable/);
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('2');
    expect((await infer('hot', 3)).status).toBe(404);
    expect(await workerServes('hot')).toEqual([2]);
  });

  it('a version onnxruntime cannot open (well-formed ONNX, unknown operator) is refused the same way', async () => {
    await copyVersion('hot/4');
    await put('hot/4/model.onnx', buildUnknownOpModel());
    const broken = await eventually(() => entry('hot', 4), (e) => e !== undefined, opts('hot/4 in the index'));
    expect(broken).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/4: onnxruntime session cannot be created: .*NoSuchOperator/) });
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('2');
    await rm(join(repo.dir, 'hot/4'), { recursive: true });
    await eventually(() => entry('hot', 4), (e) => e === undefined, opts('hot/4 gone from the index'));
  });

  it('fixing the broken version later loads it and makes it the default', async () => {
    await cp(MLP, join(repo.dir, 'hot/3/model.onnx'));
    await eventually(() => entry('hot', 3), (e) => e?.state === 'READY', opts('hot/3 READY once fixed'));
    await eventually(() => workerServes('hot'), (v) => v.join() === '3', opts('the worker serving hot/3'));
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('3');
    expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
  });

  it('a removed version stops being served; the previous one is served again', async () => {
    await rm(join(repo.dir, 'hot/3'), { recursive: true });
    await eventually(() => entry('hot', 3), (e) => e === undefined, opts('hot/3 gone from the index'));
    await eventually(() => workerServes('hot'), (v) => v.join() === '2', opts('the worker back on hot/2'));
    expect((await infer('hot', 3)).status).toBe(404);
    const r = await infer('hot');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.model_version).toBe('2');
  });

  it('a broken config.json keeps the served versions serving; the model shows UNAVAILABLE with the reason', async () => {
    await put('hot/config.json', '{"max_batch_size": ');
    await cluster.api.waitFor(/"model":"hot".*model change refused: the served versions keep serving/);
    await cluster.workers[0]!.waitFor(/hot\/config\.json is not valid JSON.*model change refused: the served versions keep serving/);
    const all = await index();
    expect(all).toContainEqual({ name: 'hot', state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/config\.json is not valid JSON/) });
    expect(all).toContainEqual({ name: 'hot', version: '2', state: 'READY', reason: '' });
    expect((await infer('hot')).status).toBe(200);
    expect(await workerServes('hot')).toEqual([2]);

    await put('hot/config.json', JSON.stringify({ max_batch_size: 16 }));
    const config = async () => (await call(cluster.url, 'GET', '/v2/models/hot/config')).body as { max_batch_size: number };
    await eventually(config, (c) => c.max_batch_size === 16, opts('the fixed config.json served'));
    expect(await entry('hot')).toBeUndefined();
    expect((await infer('hot')).status).toBe(200);
  });

  it('a model folder removed stops being served', async () => {
    await rm(join(repo.dir, 'hot'), { recursive: true });
    const metadata = async () => (await call(cluster.url, 'GET', '/v2/models/hot')).status;
    await eventually(metadata, (s) => s === 404, opts('hot answered 404'));
    expect((await infer('hot')).status).toBe(404);
    await eventually(() => workerServes('hot'), (v) => v.length === 0, opts('the worker no longer serving hot'));
    expect(await index()).not.toContainEqual(expect.objectContaining({ name: 'hot' }));
  });
});
