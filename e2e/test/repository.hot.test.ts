/**
 * Hot model changes (Triton's poll mode): files dropped into the running cluster's model
 * repository are picked up by the APIs and the workers without a restart or a load call, and
 * a broken new version never replaces a working one. Real redis-server; an API and a worker
 * polling a temporary copy of models/ every second, and a second API and a second worker that
 * do not poll (MODEL_REPOSITORY_POLL_S=0) and so follow only what the first ones announce
 * through Redis, as processes on other machines would. Each step waits for the cluster to
 * show the change (index, heartbeats, logs), then checks what requests get on both APIs.
 * Results are checked against a direct ONNX Runtime run.
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUnknownOpModel } from '@maas/model-gen/test-models';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, WORKERS_INFO_KEY } from '@maas/shared';
import {
  call, Cluster, eventually, modelRepository, REPO_ROOT, rows, runAlone, ServiceProcess, SHIPPED_MODELS,
} from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
const POLL = { MODEL_REPOSITORY_POLL_S: '1' };
let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };
let redis: Redis;
/** the second API, which does not poll */
let api2: ServiceProcess;
let api2Url = '';

beforeAll(async () => {
  repo = await modelRepository();
  cluster = await Cluster.start({ models: repo.dir, api: POLL, worker: POLL });
  await cluster.startWorker({ MODEL_REPOSITORY_POLL_S: '0' });
  const [port, grpcPort] = [await freePort(), await freePort()];
  api2 = ServiceProcess.start('api2', join(REPO_ROOT, 'apps/api/dist/main.js'), {
    MODEL_REPOSITORY: repo.dir, REDIS_URL: cluster.redis.url, PORT: String(port), GRPC_PORT: String(grpcPort), HOST: '127.0.0.1', MODEL_REPOSITORY_POLL_S: '0',
  });
  api2Url = `http://127.0.0.1:${port}`;
  await api2.waitFor(/api listening/);
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await api2?.stop('SIGKILL');
  await cluster?.stop();
  await repo?.remove();
});

interface IndexEntry { name: string; version?: string; state: string; reason: string }
const input = rows(7, 3, 32);
const inferBody = { inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 32], data: input }] };
/** Both APIs: the polling one, then the one that follows announcements. */
const apis = () => [cluster.url, api2Url];
const infer = (model: string, version?: number, base = cluster.url) =>
  call(base, 'POST', `/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, inferBody, {}, 30_000);
const index = async (base = cluster.url) => (await call<IndexEntry[]>(base, 'POST', '/v2/repository/index', {})).body;
const entry = async (name: string, version?: number, base = cluster.url) =>
  (await index(base)).find((e) => e.name === name && e.version === (version === undefined ? undefined : String(version)));
/** Both APIs' index entries for `name`/`version`. */
const entries = (name: string, version?: number) => Promise.all(apis().map((base) => entry(name, version, base)));
/** The versions of `model` each worker's heartbeat says it serves, as "a,b" per worker. */
const workersServe = async (model: string): Promise<string[]> => {
  const infos = Object.values(await redis.hgetall(WORKERS_INFO_KEY)).map((j) => JSON.parse(j) as { id: string; models: { model: string; version: number }[] });
  expect(infos).toHaveLength(2);
  return infos.sort((a, b) => a.id.localeCompare(b.id)).map((w) => w.models.filter((m) => m.model === model).map((m) => m.version).sort().join(','));
};
const both = (versions: string) => (v: string[]) => v.every((x) => x === versions);
const opts = (what: string) => ({ ms: 30_000, what, context: () => `${cluster.logs()}\n--- api2\n${api2.log.slice(-3000)}` });
const put = async (rel: string, bytes: Uint8Array | string) => writeFile(join(repo.dir, rel), bytes);
const copyVersion = (to: string) => cp(join(SHIPPED_MODELS, 'mlp/1'), join(repo.dir, to), { recursive: true });

function expectClose(actual: number[], expected: number[], tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol));
}

describe('hot model changes, found by polling the repository', () => {
  it('a model folder added while running is served by both APIs and both workers', async () => {
    expect((await infer('hot')).status).toBe(404);
    await copyVersion('hot/1');
    await eventually(() => entries('hot', 1), (e) => e.every((x) => x?.state === 'READY'), opts('hot/1 READY in both indexes'));
    await eventually(() => workersServe('hot'), both('1'), opts('both workers serving hot/1'));
    const expected = (await runAlone(MLP, 'input', 'output', input)).flat();
    for (const base of apis()) {
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('1');
      expectClose(r.body.outputs[0].data, expected);
    }
    // No config.json: the MLP's 128-byte rows get runs of 1,024 rows (default-batch-size.ts), on
    // every API and in the worker: 1,500 rows take 2 runs (24 with a fixed default of 64).
    for (const base of apis()) expect((await call(base, 'GET', '/v2/models/hot/config')).body.max_batch_size).toBe(1024);
    const big = rows(4, 1500, 32);
    const created = await call(cluster.url, 'POST', '/v1/jobs', { model: 'hot', inputs: [{ name: 'input', datatype: 'FP32', shape: [1500, 32], data: big }] });
    const done = await call(cluster.url, 'GET', `/v1/jobs/${created.body.id}?wait=30`, undefined, {}, 35_000);
    expect(done.body.status).toBe('succeeded');
    expect(done.body.metrics.runs).toBe(2);
    expectClose(done.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', big)).flat());
  });

  it('a new version becomes the default, on both APIs and both workers', async () => {
    await copyVersion('hot/2');
    await eventually(() => entries('hot', 2), (e) => e.every((x) => x?.state === 'READY'), opts('hot/2 READY in both indexes'));
    await eventually(() => workersServe('hot'), both('2'), opts('both workers serving hot/2 only (latest 1)'));
    for (const base of apis()) {
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('2');
      expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
      expect((await infer('hot', 1, base)).status).toBe(404); // no longer served (latest 1)
    }
  });

  it('a broken new version (garbage bytes) leaves the previous one serving and is UNAVAILABLE with its reason', async () => {
    await copyVersion('hot/3');
    await put('hot/3/model.onnx', 'these bytes are not an ONNX model');
    const broken = await eventually(() => entries('hot', 3), (e) => e.every((x) => x !== undefined), opts('hot/3 in both indexes'));
    for (const e of broken) expect(e).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/3\/model\.onnx: not a valid ONNX file/) });
    for (const e of await entries('hot', 2)) expect(e).toMatchObject({ state: 'READY' });
    await cluster.api.waitFor(/"version":3.*model version unavailable/);
    await api2.waitFor(/"version":3.*model version unavailable/);
    for (const w of cluster.workers) await w.waitFor(/"model":"hot:3".*model version unavailable/);
    for (const base of apis()) {
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('2');
      expect((await infer('hot', 3, base)).status).toBe(404);
    }
    expect(await workersServe('hot')).toEqual(['2', '2']);
  });

  it('a version onnxruntime cannot open (well-formed ONNX, unknown operator) is refused the same way', async () => {
    await copyVersion('hot/4');
    await put('hot/4/model.onnx', buildUnknownOpModel());
    const broken = await eventually(() => entries('hot', 4), (e) => e.every((x) => x !== undefined), opts('hot/4 in both indexes'));
    for (const e of broken) {
      expect(e).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/4: onnxruntime session cannot be created: .*NoSuchOperator/) });
    }
    for (const w of cluster.workers) await w.waitFor(/"model":"hot:4".*runner cannot be opened/);
    for (const base of apis()) {
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('2');
    }
    expect(await workersServe('hot')).toEqual(['2', '2']);
    await rm(join(repo.dir, 'hot/4'), { recursive: true });
    await eventually(() => entries('hot', 4), (e) => e.every((x) => x === undefined), opts('hot/4 gone from both indexes'));
  });

  it('fixing the broken version later loads it and makes it the default', async () => {
    await cp(MLP, join(repo.dir, 'hot/3/model.onnx'));
    await eventually(() => entries('hot', 3), (e) => e.every((x) => x?.state === 'READY'), opts('hot/3 READY in both indexes once fixed'));
    await eventually(() => workersServe('hot'), both('3'), opts('both workers serving hot/3'));
    for (const base of apis()) {
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('3');
      expectClose(r.body.outputs[0].data, (await runAlone(MLP, 'input', 'output', input)).flat());
    }
  });

  it('a removed version stops being served; the previous one is served again', async () => {
    await rm(join(repo.dir, 'hot/3'), { recursive: true });
    await eventually(() => entries('hot', 3), (e) => e.every((x) => x === undefined), opts('hot/3 gone from both indexes'));
    await eventually(() => workersServe('hot'), both('2'), opts('both workers back on hot/2'));
    for (const base of apis()) {
      expect((await infer('hot', 3, base)).status).toBe(404);
      const r = await infer('hot', undefined, base);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.model_version).toBe('2');
    }
  });

  it('a broken config.json keeps the served versions serving; the model shows UNAVAILABLE with the reason', async () => {
    await put('hot/config.json', '{"max_batch_size": ');
    await cluster.api.waitFor(/"model":"hot".*model change refused: the served versions keep serving/);
    await api2.waitFor(/"model":"hot".*model change refused: the served versions keep serving/);
    for (const w of cluster.workers) await w.waitFor(/hot\/config\.json is not valid JSON.*model change refused: the served versions keep serving/);
    const all = await index();
    expect(all).toContainEqual({ name: 'hot', state: 'UNAVAILABLE', reason: expect.stringMatching(/^hot\/config\.json is not valid JSON/) });
    expect(all).toContainEqual({ name: 'hot', version: '2', state: 'READY', reason: '' });
    expect((await infer('hot')).status).toBe(200);
    expect(await workersServe('hot')).toEqual(['2', '2']);

    await put('hot/config.json', JSON.stringify({ max_batch_size: 16 }));
    const config = async () => (await call(cluster.url, 'GET', '/v2/models/hot/config')).body as { max_batch_size: number };
    await eventually(config, (c) => c.max_batch_size === 16, opts('the fixed config.json served'));
    await eventually(async () => (await call(api2Url, 'GET', '/v2/models/hot/config')).body.max_batch_size, (n) => n === 16, opts('api2 too'));
    expect(await entry('hot')).toBeUndefined();
    expect((await infer('hot')).status).toBe(200);
  });

  it('a model folder removed stops being served', async () => {
    await rm(join(repo.dir, 'hot'), { recursive: true });
    const metadata = () => Promise.all(apis().map(async (base) => (await call(base, 'GET', '/v2/models/hot')).status));
    await eventually(metadata, (s) => s.every((x) => x === 404), opts('hot answered 404 by both APIs'));
    await eventually(() => workersServe('hot'), both(''), opts('no worker serving hot'));
    for (const base of apis()) {
      expect((await infer('hot', undefined, base)).status).toBe(404);
      expect(await index(base)).not.toContainEqual(expect.objectContaining({ name: 'hot' }));
    }
  });
});
