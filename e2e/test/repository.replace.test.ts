/**
 * A model file replaced in place (same version) while an API and a worker read the repository
 * apart: here the worker polls it and the API does not, so the worker serves the new file while
 * the API still checks requests against the old one (as two processes polling 5 s apart do for
 * a moment). A request that fits the old model but not the new one was run into an onnxruntime
 * error: 500 `inference-failed` for a valid request (a lifecycle audit: 541 in 1.8 s). The
 * worker now checks each job's tensors against the model it serves and refuses a misfit as
 * invalid input: a 400 naming what does not fit, the job `failed` with `invalid-input`. Real
 * redis-server, API, worker and ONNX models.
 */
import { cp, copyFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_CHANGES_KEY, WORKERS_INFO_KEY } from '@maas/shared';
import { call, Cluster, eventually, modelRepository, SHIPPED_MODELS, WebhookReceiver } from '../src/harness/index.js';

describe('a model file replaced while the API still reads the old one', () => {
  let cluster: Cluster;
  let repo: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    repo = await modelRepository();
    // The API never polls; the worker, serving only the mlp (input [-1, 32]), every second.
    cluster = await Cluster.start({ models: repo.dir, api: { MODEL_REPOSITORY_POLL_S: '0' }, worker: { MODEL_REPOSITORY_POLL_S: '1', WORKER_MODELS: 'mlp' } });
  });
  afterAll(async () => {
    await cluster?.stop();
    await repo?.remove();
  });

  it('refuses its jobs as invalid input (400, the job failed with invalid-input), never a 500', async () => {
    const mlpInput = { name: 'input', datatype: 'FP32', shape: [1, 32], data: Array(32).fill(0.25) };
    expect((await call(cluster.url, 'POST', '/v2/models/mlp/infer', { inputs: [mlpInput] })).status).toBe(200);
    // mlp's file becomes penguins' (input `features`, [-1, 4]), moved in whole.
    await copyFile(join(SHIPPED_MODELS, 'penguins/1/model.onnx'), join(repo.dir, 'mlp/1/.model.onnx.new'));
    await rename(join(repo.dir, 'mlp/1/.model.onnx.new'), join(repo.dir, 'mlp/1/model.onnx'));
    await cluster.workers[0]!.waitFor(/model reloaded: its files changed/, 20_000);
    // The API still checks against the mlp (it has not read the repository again): the request is queued.
    expect((await call(cluster.url, 'GET', '/v2/models/mlp')).body.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 32] }]);
    const r = await call(cluster.url, 'POST', '/v2/models/mlp/infer', { inputs: [mlpInput] });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body).toMatchObject({ type: 'urn:maas:problem:invalid-input', error: expect.stringMatching(/unknown input 'input'; the model has: features \(mlp:1 as this worker serves it: the API that accepted the request read other files for it, and one of them has not read a change yet; send it again\)/) });
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [mlpInput] }, { Prefer: 'wait=20' });
    expect(job.body).toMatchObject({ status: 'failed', error: { type: 'invalid-input', message: expect.stringMatching(/the API that accepted the request read other files for it/) } });
    // The index says the worker serves other files than this API reads (it said nothing: a lifecycle audit).
    const mlp = await eventually(
      async () => (await call<{ name: string; version?: string; state: string; reason: string }[]>(cluster.url, 'POST', '/v2/repository/index', {})).body.find((e) => e.name === 'mlp'),
      (e) => e?.reason !== '', { ms: 10_000, what: "the index to name the worker serving other files" },
    );
    expect(mlp).toMatchObject({ version: '1', state: 'READY', reason: expect.stringMatching(new RegExp(`^served from other files .* by ${cluster.workers[0]!.name}: their repository differs`)) });
    // On-call tells the client's failures from the service's: by type (with the worker's next heartbeat).
    await eventually(async () => (await call(cluster.url, 'GET', '/metrics')).text,
      (t) => /^maas_job_failures_total\{[^}]*model="mlp"[^}]*type="invalid-input"[^}]*\} [1-9]/m.test(t), { ms: 15_000, what: 'maas_job_failures_total{type="invalid-input"}' });
  });
});

describe('a load', () => {
  let cluster: Cluster;
  let repo: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    repo = await modelRepository();
    // A model only a CUDA build can open: the API checks it on the CPU and serves it; no worker here can.
    await cp(join(repo.dir, 'penguins'), join(repo.dir, 'gpuonly'), { recursive: true });
    await writeFile(join(repo.dir, 'gpuonly/config.json'), JSON.stringify({ execution_providers: ['cuda'] }));
    cluster = await Cluster.start({ models: repo.dir, workers: 0, api: { MODEL_REPOSITORY_POLL_S: '0', WEBHOOK_ALLOW_PRIVATE: 'true' } });
    // Liveness TTL 10 s (3 s by default): a worker frozen 1.5 s below stays live on a loaded machine.
    await cluster.startWorker({ WORKER_MODELS: 'penguins,gpuonly', MODEL_REPOSITORY_POLL_S: '0', WORKER_ALIVE_TTL_MS: '10000' });
    await cluster.startWorker({ WORKER_MODELS: 'penguins,gpuonly', MODEL_REPOSITORY_POLL_S: '0', WORKER_ALIVE_TTL_MS: '10000' });
  });
  afterAll(async () => {
    await cluster?.stop();
    await repo?.remove();
  });

  it('answers once every live worker that would serve the model has applied it (it answered once one had, while another still ran the file it replaced)', async () => {
    const redis = cluster.redisClient();
    const slow = cluster.workers[1]!.child;
    try {
      // One worker is slow to apply it (frozen for 1.5 s: live all along, its liveness TTL is longer).
      slow.kill('SIGSTOP');
      const loading = call(cluster.url, 'POST', '/v2/repository/models/penguins/load', {});
      await new Promise((resolve) => setTimeout(resolve, 1500));
      slow.kill('SIGCONT');
      const r = await loading;
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const seq = Number(await redis.get(MODEL_CHANGES_KEY));
      const applied = Object.values(await redis.hgetall(WORKERS_INFO_KEY)).map((info) => (JSON.parse(info) as { changes_applied: number }).changes_applied);
      expect(applied).toHaveLength(2);
      for (const a of applied) expect(a).toBeGreaterThanOrEqual(seq);
    } finally {
      slow.kill('SIGCONT');
      redis.disconnect();
    }
  });

  it('that no worker could open answers 503 model-not-ready once they have all tried, not 200 (Triton reports a load that failed)', async () => {
    const started = Date.now();
    const r = await call(cluster.url, 'POST', '/v2/repository/models/gpuonly/load', {});
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    // With what the workers said (their logs only, before).
    expect(r.body).toMatchObject({ type: 'urn:maas:problem:model-not-ready', error: expect.stringMatching(/gpuonly is loaded, but none of the 2 live workers that would serve it could open it \(wrk_test\d+: gpuonly:\d runner cannot be opened: .*; wrk_test\d+: gpuonly:\d runner cannot be opened/) });
    expect(Date.now() - started).toBeLessThan(9000); // not the 10 s a load waits for a worker at most
    const index = (await call<{ name: string; version?: string; state: string; reason: string }[]>(cluster.url, 'POST', '/v2/repository/index', {})).body;
    for (const e of index.filter((x) => x.name === 'gpuonly')) {
      expect(e).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/^loaded, but no live worker serves gpuonly\/\d: its requests wait queued until one does \(wrk_test\d+: gpuonly:\d runner cannot be opened/) });
    }
  });

  it('of a name that is no model\'s is a 400 whether or not such a folder exists outside the repository (a 404 told that it did not)', async () => {
    for (const name of ['..%2F..%2Fetc', '..%2F..%2Fno-such-folder-here']) {
      const r = await call(cluster.url, 'POST', `/v2/repository/models/${name}/load`, {});
      expect(r.status, name).toBe(400);
      expect(r.body.error).toMatch(/cannot be loaded/);
    }
  });

  it('does not wait for a worker that drains (it applies nothing more: a load waited out its 10 s and answered 503)', async () => {
    // A worker whose drain lasts: a webhook delivery in flight to a receiver that never answers (its 10 s timeout).
    const hook = await WebhookReceiver.start(0);
    hook.answer = () => 'hang';
    const draining = await cluster.startWorker({ WORKER_MODELS: 'mlp', MODEL_REPOSITORY_POLL_S: '0', WEBHOOK_ALLOW_PRIVATE: 'true' });
    // The other two workers deliver webhooks too (one queue), but not to a private address: frozen
    // until the draining one holds the delivery (one of them took it in 1 run of 5, refused it,
    // and the receiver heard nothing).
    const others = cluster.workers.filter((w) => w !== draining).map((w) => w.child);
    try {
      const input = [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array(32).fill(0.5) }];
      for (const o of others) o.kill('SIGSTOP');
      const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: input, webhook: hook.url }, { Prefer: 'wait=20' });
      expect(job.body.status).toBe('succeeded');
      await hook.until((all) => all.length > 0, 10_000);
      for (const o of others) o.kill('SIGCONT');
      const stopped = cluster.stopWorker(draining, 'SIGTERM');
      await draining.waitFor(/draining: finishing held jobs/, 5000);
      await new Promise((r) => setTimeout(r, 300)); // its draining beat
      const started = Date.now();
      const r = await call(cluster.url, 'POST', '/v2/repository/models/mlp/load', {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(Date.now() - started).toBeLessThan(5000);
      await stopped;
    } finally {
      for (const o of others) o.kill('SIGCONT');
      await hook.close();
    }
  });
});
