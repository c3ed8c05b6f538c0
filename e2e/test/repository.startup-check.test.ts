/**
 * Versions present when the API starts are checked as hot changes are: an onnxruntime session
 * is created from each before it is served. A version onnxruntime cannot open (well-formed
 * ONNX, unknown operator) reads UNAVAILABLE with the reason, its requests are 404s (none
 * queued for a worker that would never run them), the version policy falls back to the
 * previous version, and the good models and versions serve. Before, after a restart such a
 * version read READY and `POST /v1/jobs` queued jobs that stayed queued forever. Real
 * redis-server, API and worker, on a copy of models/ with a broken mlp/2 and a model `badop`
 * whose only version is broken; the API restarts once on the same Redis.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUnknownOpModel } from '@maas/model-gen/test-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, call, Cluster, modelRepository, rows, SHIPPED_MODELS } from '../src/harness/index.js';

let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  repo = await modelRepository();
  await cp(join(SHIPPED_MODELS, 'mlp/1'), join(repo.dir, 'mlp/2'), { recursive: true });
  await writeFile(join(repo.dir, 'mlp/2/model.onnx'), buildUnknownOpModel());
  await addModel(repo.dir, 'badop', buildUnknownOpModel(), {});
  cluster = await Cluster.start({ models: repo.dir, api: { MODEL_REPOSITORY_POLL_S: '0' }, worker: { MODEL_REPOSITORY_POLL_S: '0' } });
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

interface IndexEntry { name: string; version?: string; state: string; reason: string }
const mlpBody = { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: rows(3, 2, 32) }] };
const badopBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] };
const REFUSED = (name: string) => new RegExp(`^${name}: onnxruntime session cannot be created: .*NoSuchOperator`);

async function expectChecked(): Promise<void> {
  const index = (await call<IndexEntry[]>(cluster.url, 'POST', '/v2/repository/index', {})).body;
  const entry = (name: string, version: string) => index.find((e) => e.name === name && e.version === version);
  expect(entry('mlp', '1'), JSON.stringify(index)).toMatchObject({ state: 'READY', reason: '' });
  expect(entry('mlp', '2')).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(REFUSED('mlp/2')) });
  expect(entry('badop', '1')).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(REFUSED('badop/1')) });
  for (const m of ['penguins', 'fixed']) expect(index.filter((e) => e.name === m).every((e) => e.state === 'READY')).toBe(true);

  // The broken versions are not served: 404s, and nothing queued.
  expect((await call(cluster.url, 'POST', '/v2/models/mlp/versions/2/infer', mlpBody)).status).toBe(404);
  expect((await call(cluster.url, 'POST', '/v2/models/badop/infer', badopBody)).status).toBe(404);
  expect((await call(cluster.url, 'POST', '/v1/jobs', { model: 'badop', ...badopBody })).status).toBe(404);
  expect((await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', version: '2', ...mlpBody })).status).toBe(404);
  expect((await call(cluster.url, 'GET', '/v2/models/badop/ready')).status).not.toBe(200);

  // The good versions serve; mlp's default is version 1.
  const r = await call(cluster.url, 'POST', '/v2/models/mlp/infer', mlpBody, {}, 30_000);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.model_version).toBe('1');
  const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] }, { Prefer: 'wait=20' });
  expect(job.body.status, JSON.stringify(job.body)).toBe('succeeded');
}

describe('session checks at start-up', () => {
  it('a version onnxruntime cannot open, present at start, is UNAVAILABLE with its reason and a 404; the others serve', async () => {
    await expectChecked();
    expect(cluster.api.log).toMatch(/"model":"mlp","version":2,"reason":"mlp\/2: onnxruntime session cannot be created[^"]*".*model version unavailable/);
    expect(cluster.api.log).toMatch(/badop\/1: onnxruntime session cannot be created.*model skipped/);
  });

  it('the same after the API restarts on the same Redis', async () => {
    await cluster.api.stop('SIGTERM');
    await cluster.startApi();
    await expectChecked();
  });
});
