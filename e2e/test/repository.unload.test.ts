/**
 * Jobs queued for a model version before it stops being served (unloaded, or replaced by a
 * newer version under the version policy) still run (README, as in Triton): the API refuses
 * new requests at once, and a worker runs what was queued, then lets the version go. Here no
 * worker runs while the jobs are queued and the change made: the worker that starts afterwards
 * still runs them. Real redis-server, API and worker processes, a copy of the shipped models.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, InferenceClient, modelRepository } from '../src/harness/index.js';

let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  repo = await modelRepository();
  cluster = await Cluster.start({ models: repo.dir, workers: 0 });
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

const penguins = { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }] };

describe('unloading a model with jobs queued for it', () => {
  it('the queued jobs run on a worker started after the unload; new requests are refused', async () => {
    const queued = await Promise.all(Array.from({ length: 5 }, () => call(cluster.url, 'POST', '/v1/jobs', penguins)));
    for (const q of queued) expect(q.status).toBe(202);
    expect((await call(cluster.url, 'POST', '/v2/repository/models/penguins/unload', {})).status).toBe(200);
    expect((await call(cluster.url, 'POST', '/v1/jobs', penguins)).status).toBe(404);
    // No longer served, its queue still holds the jobs: /metrics counts them and the queue board
    // lists it (neither did: they followed the served versions alone). The autoscaler's backlog
    // counts them too (its file is there: a worker started now runs them, as below).
    // (BullMQ jobs: the five requests of one turn are packed into fewer, queued in a fair-share lane.)
    const metrics = await fetch(`${cluster.url}/metrics`).then((r) => r.text());
    const inQueue = [...metrics.matchAll(/^maas_queue_jobs\{model="penguins",version="2",state="(?:waiting|prioritized)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(inQueue).toBeGreaterThan(0);
    expect(metrics).toMatch(new RegExp(`^maas_queue_backlog ${inQueue}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^maas_model_backlog\\{model="penguins"\\} ${inQueue}$`, 'm'));
    const board = await call(cluster.url, 'GET', '/admin/queues/api/queues');
    expect(board.status).toBe(200);
    expect((board.body.queues as { name: string }[]).map((q) => q.name)).toContain('{infer-penguins-v2}');
    const status = await call(cluster.url, 'GET', '/admin/status.json');
    const penguinsStatus = (status.body.models as { name: string; versions: { version: number; served: boolean; queued: number }[] }[]).find((m) => m.name === 'penguins');
    expect(penguinsStatus?.versions).toEqual([expect.objectContaining({ version: 2, served: false, queued: inQueue })]);

    await cluster.startWorker();
    for (const q of queued) {
      const job = await call(cluster.url, 'GET', `/v1/jobs/${q.body.id}?wait=20`);
      expect(job.body.status, JSON.stringify(job.body)).toBe('succeeded');
      expect(job.body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([0]);
    }
    // Its queue empty, the worker lets the version go; the model stays unloaded.
    await eventually(async () => cluster.logs(), (logs) => /retired model version closed/.test(logs), { what: 'the retired version closed' });
    expect((await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: penguins.inputs })).status).toBe(404);
  });
  it('a version replaced by a newer one: its queued jobs run on a worker started after the change', async () => {
    await cluster.stopWorker(cluster.workers[0]!);
    const mlp = (seed: number) => ({ model: 'mlp', version: 1, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array.from({ length: 32 }, (_, k) => (seed + k) / 32) }] });
    const queued = await Promise.all([1, 2, 3].map((k) => call(cluster.url, 'POST', '/v1/jobs', mlp(k))));
    for (const q of queued) expect(q.status, JSON.stringify(q.body)).toBe(202);
    // mlp/2 appears; a load makes the API read it now: the policy ({"latest": 1}) serves 2 alone.
    await cp(join(repo.dir, 'mlp/1'), join(repo.dir, 'mlp/2'), { recursive: true });
    expect((await call(cluster.url, 'POST', '/v2/repository/models/mlp/load', {})).status).toBe(200);
    expect((await call(cluster.url, 'POST', '/v1/jobs', mlp(4))).status).toBe(404);
    // With no worker running, the autoscaler's gauges still count v1's jobs (they read 0 once v2
    // appeared, and a scaler at zero never started the worker that runs them).
    const metrics = await fetch(`${cluster.url}/metrics`).then((r) => r.text());
    expect(Number(/^maas_queue_backlog (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^maas_model_backlog\{model="mlp"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    await cluster.startWorker();
    for (const q of queued) {
      const job = await call(cluster.url, 'GET', `/v1/jobs/${q.body.id}?wait=20`);
      expect(job.body, JSON.stringify(job.body)).toMatchObject({ status: 'succeeded', version: '1' });
    }
    expect(cluster.logs()).toMatch(/model version not served, with jobs queued for it/);
  });
  it('with every model unloaded the API stays ready (as Triton), so the load that brings one back reaches it', async () => {
    const index = await call(cluster.url, 'POST', '/v2/repository/index', {});
    for (const m of index.body as { name: string; state?: string }[]) {
      if (m.state === 'READY') expect((await call(cluster.url, 'POST', `/v2/repository/models/${m.name}/unload`, {})).status).toBe(200);
    }
    const ready = await call(cluster.url, 'GET', '/v2/health/ready');
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, redis: true, models: 0 });
    const grpc = new InferenceClient(cluster.grpcAddress);
    try {
      expect(await grpc.call('ServerReady', {})).toEqual({ ready: true });
    } finally {
      grpc.close();
    }
    expect((await call(cluster.url, 'POST', '/v2/repository/models/penguins/load', {})).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2/health/ready')).body).toMatchObject({ ready: true, models: 1 });
  });
});
