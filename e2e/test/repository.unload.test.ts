/**
 * Jobs queued for a model before it is unloaded still run (README, as in Triton): the API
 * refuses new requests at once, and a worker runs what was queued, then lets the version go.
 * Here no worker runs while the jobs are queued and the model unloaded: the worker that starts
 * afterwards still runs them. Real redis-server, API and worker processes, shipped models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually } from '../src/harness/index.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0 });
});
afterAll(async () => {
  await cluster?.stop();
});

const penguins = { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }] };

describe('unloading a model with jobs queued for it', () => {
  it('the queued jobs run on a worker started after the unload; new requests are refused', async () => {
    const queued = await Promise.all(Array.from({ length: 5 }, () => call(cluster.url, 'POST', '/v1/jobs', penguins)));
    for (const q of queued) expect(q.status).toBe(202);
    expect((await call(cluster.url, 'POST', '/v2/repository/models/penguins/unload', {})).status).toBe(200);
    expect((await call(cluster.url, 'POST', '/v1/jobs', penguins)).status).toBe(404);

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
});
