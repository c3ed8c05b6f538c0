/**
 * Hosts whose clocks are off (NTP broken on one VM; libfaketime in the clock-skew audit). Every
 * process reads the cluster's one clock, Redis's (shared cluster-clock.ts), for what one process
 * stamps and another judges:
 * - a worker 30 s behind was read as gone while it ran jobs (its heartbeat stamped on its clock,
 *   judged on the API's): heartbeats are stamped on Redis's time;
 * - an API 60 s ahead expired every queued `timeout_ms` job of the cluster (its expiry sweep
 *   judged deadlines other APIs set on its own clock), and read them as expired;
 * - a worker 2 h ahead expired valid jobs at once, and signed webhooks with a timestamp their
 *   receivers refuse (Standard Webhooks: ±5 min).
 * Real redis-server, APIs and workers; a process's clock is set off by a preload
 * (fixtures/skewed-clock.cjs, MAAS_TEST_CLOCK_SKEW_MS).
 */
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, REPO_ROOT, WebhookReceiver } from '../src/harness/index.js';

const skewed = (ms: number) => ({ MAAS_TEST_CLOCK_SKEW_MS: String(ms), NODE_OPTIONS: `--require ${join(REPO_ROOT, 'e2e/fixtures/skewed-clock.cjs')}` });
const features = { name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] };

describe('hosts whose clocks are off', () => {
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  let secret: string;
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0, api: { WEBHOOK_ALLOW_PRIVATE: 'true' }, worker: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    receiver = await WebhookReceiver.start();
    secret = (await call(cluster.url, 'GET', '/v1/webhooks/secret')).body.secret;
  });
  afterAll(async () => {
    await receiver?.close();
    await cluster?.stop();
  });

  it('a worker 30 s behind is a live worker, and its model ready, all along', async () => {
    const w = await cluster.startWorker({ WORKER_MODELS: 'penguins', ...skewed(-30_000) });
    for (let i = 0; i < 6; i++) {
      expect((await call(cluster.url, 'GET', '/v2/models/penguins/ready')).status).toBe(200);
      const models = (await call(cluster.url, 'GET', '/v1/models')).body.models as { name: string; workers: number }[];
      expect(models.find((m) => m.name === 'penguins')!.workers).toBe(1);
      expect((await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [features] })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
    await cluster.stopWorker(w);
  });

  it("an API 60 s ahead neither expires nor reads as expired another API's queued jobs before their timeout_ms", async () => {
    const first = cluster.url;
    // Queued (no worker serves mlp here), with a 20 s timeout_ms, through the API whose clock is right.
    const created = await call(first, 'POST', '/v1/jobs', { model: 'mlp', timeout_ms: 20_000, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: new Array(32).fill(0.5) }] });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await cluster.startApi(skewed(60_000));
    const ahead = cluster.url;
    // Its expiry sweep runs every second: three of them.
    await new Promise((r) => setTimeout(r, 3500));
    for (const url of [first, ahead]) {
      const job = await call(url, 'GET', `/v1/jobs/${created.body.id}`);
      expect(job.body.status, `${url}: ${JSON.stringify(job.body)}`).toBe('queued');
    }
    await call(first, 'POST', `/v1/jobs/${created.body.id}/cancel`);
  });

  it('a worker 2 h ahead runs a job with a timeout_ms, and signs its webhooks with a timestamp its receiver accepts', async () => {
    await cluster.startWorker({ WORKER_MODELS: 'penguins', ...skewed(2 * 3600_000) });
    const created = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', timeout_ms: 30_000, inputs: [features], webhook: receiver.url, webhook_events_filter: ['completed'] }, { Prefer: 'wait=20' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.status).toBe('succeeded');
    const got = await receiver.until((all) => all.some((r) => r.body.includes(created.body.id)));
    const sent = got.find((r) => r.body.includes(created.body.id))!;
    expect(Math.abs(Number(sent.timestamp) * 1000 - Date.now())).toBeLessThan(60_000);
    expect(new Webhook(secret).verify(sent.body, sent.headers)).toMatchObject({ type: 'job.completed', data: { id: created.body.id, status: 'succeeded' } });
    // What it stamps reads in order on the cluster's clock, created ≤ started ≤ completed, none
    // hours ahead: for a job an idle worker took (its blocking fetch) and for jobs it took under
    // load (BullMQ's own fetches, stamped with the host's clock: started 2 h in the future).
    const busy = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [{ ...features, data: [39.1 + i / 10, 18.7, 181, 3750] }] }, { Prefer: 'wait=20' })));
    const at = (s: string) => Date.parse(s);
    for (const job of [created.body, ...busy.map((b) => b.body)]) {
      expect(job.status).toBe('succeeded');
      expect(at(job.started_at) - Date.now(), JSON.stringify(job)).toBeLessThan(60_000);
      expect(at(job.completed_at) - Date.now()).toBeLessThan(60_000);
      expect(at(job.started_at)).toBeGreaterThanOrEqual(at(job.created_at));
      expect(at(job.completed_at)).toBeGreaterThanOrEqual(at(job.started_at));
      expect(job.metrics.queue_ms).toBeLessThan(60_000);
    }
  });
});
