/**
 * The service on a three-master Redis Cluster (REDIS_URL=redis://node?cluster=true): jobs,
 * waiting, idempotency, cancel, batches and webhooks, each of which touches keys in several
 * slots. A key layout that put one command or script across slots would fail here (CROSSSLOT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { JOB_EVENTS_CHANNEL, parseJobEvents } from '@maas/shared';
import { call, Cluster, eventually, expectScanKeysOnEveryMaster, rows, runAlone, SHIPPED_MODELS, WebhookReceiver } from '../src/harness/index.js';

let cluster: Cluster;
let receiver: WebhookReceiver;

beforeAll(async () => {
  cluster = await Cluster.start({
    redisCluster: true,
    workers: 1,
    api: { WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'mlp,penguins', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  receiver = await WebhookReceiver.start(0);
});
afterAll(async () => {
  await receiver?.close();
  await cluster?.stop();
});

const mlpJob = (data: number[][], extra: Record<string, unknown> = {}) => ({
  model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }], ...extra,
});

describe('on a Redis Cluster', () => {
  it('runs concurrent jobs in shared batches and answers v2 infer', async () => {
    const created = await Promise.all(rows(1, 200, 32).map((r) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]))));
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    for (const d of done) expect(d.body.status).toBe('succeeded');
    expect(Math.max(...done.map((d) => d.body.metrics.batch_size))).toBeGreaterThan(1);
    const infer = await call(cluster.url, 'POST', '/v2/models/penguins/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }],
    });
    expect(infer.status).toBe(200);
    expect(infer.body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([0]);
  });

  it('a job with large inputs (a raw payload beside it, in its queue\'s slot) answers what ONNX Runtime gives', async () => {
    const data = rows(7, 600, 32); // 76,800 bytes: over RAW_PAYLOAD_MIN_BYTES
    const infer = await call(cluster.url, 'POST', '/v2/models/mlp/infer', { inputs: mlpJob(data).inputs });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    expect(infer.body.outputs[0].data).toEqual((await runAlone(join(SHIPPED_MODELS, 'mlp/1/model.onnx'), 'input', 'output', data)).flat());
  });

  it('idempotency, cancel of a queued job, and /v1/models with its workers', async () => {
    const body = mlpJob(rows(2, 1, 32));
    const a = await call(cluster.url, 'POST', '/v1/jobs', body, { 'Idempotency-Key': 'c-1' });
    const b = await call(cluster.url, 'POST', '/v1/jobs', body, { 'Idempotency-Key': 'c-1' });
    expect(b.body.id).toBe(a.body.id);
    const fixed = await call(cluster.url, 'POST', '/v1/jobs', { model: 'fixed', inputs: [
      { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 1, 1, 1, 1, 1] },
    ] });
    expect(fixed.body.status).toBe('queued'); // no worker serves it
    expect((await call(cluster.url, 'POST', `/v1/jobs/${fixed.body.id}/cancel`)).body.status).toBe('canceled');
    const models = (await call(cluster.url, 'GET', '/v1/models')).body.models;
    expect(models.find((m: { name: string }) => m.name === 'mlp')).toMatchObject({ ready: true, workers: 1 });
    expect((await call(cluster.url, 'GET', '/metrics')).status).toBe(200);
  });

  it('batches keep input order, answer a long-poll as they complete, and announce completion by webhook', async () => {
    const events = cluster.redisClient();
    const heard: string[] = [];
    events.on('message', (_channel: string, m: string) => heard.push(...parseJobEvents(m).filter((e) => e.event === 'completed').map((e) => e.id)));
    await events.subscribe(JOB_EVENTS_CHANNEL);
    const lines = rows(3, 2100, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } }));
    lines.splice(5, 0, '{"broken": ');
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp&webhook=${encodeURIComponent(receiver.url)}`, {
      method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' },
    });
    const batch = (await res.json()) as { id: string };
    expect(res.status).toBe(202);
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=30`)).body;
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 2101, succeeded: 2100, failed: 1 }, completed_at: expect.any(String) });
    // the completion was announced on the cluster (what woke the long-poll), and by webhook
    await eventually(async () => heard, (h) => h.includes(batch.id), { ms: 5000, what: 'the announcement' });
    events.disconnect();
    await receiver.until((all) => all.some((r) => r.body.includes(batch.id)));
    const out = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(out.map((l) => l.custom_id).slice(0, 7)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', '6', 'r5']);
    expect(out[5].error.type).toBe('invalid-input');
    expect(out).toHaveLength(2101);
  });

  it('spread its keys over every master', async () => {
    const { Redis } = await import('ioredis');
    for (const port of cluster.redisPorts) {
      const node = new Redis({ port, host: '127.0.0.1' });
      expect(await node.dbsize()).toBeGreaterThan(0);
      node.disconnect();
    }
  });

  it('nothing the API or the worker sent was refused for spanning slots (CROSSSLOT)', () => {
    expect([...cluster.apis, ...cluster.workers].map((p) => p.log).join('\n')).not.toMatch(/CROSSSLOT/);
  });

  it('scanKeys (the retention sweep\'s adoption of older queues) walks every master', async () => {
    await expectScanKeysOnEveryMaster(cluster.redis.url);
  });
});
