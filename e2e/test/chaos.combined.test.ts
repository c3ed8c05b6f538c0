/**
 * Two faults in one run (issue 13, bullet 6): a worker is SIGKILLed while it provably holds
 * jobs, and their webhook receiver is down the whole time, then comes back. workers.failure
 * and workers.recovery cover the kill with a live receiver, webhooks.test.ts a receiver down
 * across restarts; here both at once. Every accepted job ends exactly once (on the surviving
 * worker, with the outputs of a direct onnxruntime run), and every event arrives at least once
 * under one webhook-id per job and event type: the killed worker's job.start and the rerun's
 * are one event, and job.completed describes the one ending.
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@maas/shared';
import { call, Cluster, eventually, modelRepository, rows, runAlone, SHIPPED_MODELS, WebhookReceiver } from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
const JOBS = 40;
// Attempts over ~26 s: longer than the kill, the recovery and the receiver's downtime.
const SCHEDULE = '1s,1s,1s,2s,2s,2s,2s,3s,3s,3s,3s,3s';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('a worker SIGKILLed while its jobs’ webhook receiver is down', () => {
  it('every job ends once, on the other worker; every event arrives under one webhook-id once the receiver is back', async () => {
    // Worker A waits up to 20 s to fill a run, so it holds the jobs when killed; B uses the shipped 2 ms window.
    const repoA = await modelRepository({ mlp: { max_queue_delay_ms: 20_000, preferred_batch_sizes: [1024] } });
    const worker = { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: SCHEDULE };
    const cluster = await Cluster.start({ models: repoA.dir, workers: 0, api: { WEBHOOK_ALLOW_PRIVATE: 'true' }, worker });
    const conn = cluster.redisClient();
    const queue = new Queue('{infer-mlp-v1}', { prefix: 'maas', connection: conn });
    cleanups.push(async () => {
      await queue.close();
      conn.disconnect();
      await cluster.stop();
      await repoA.remove();
    });
    const port = await freePort(); // the receiver is down: nothing listens here yet
    const url = `http://127.0.0.1:${port}/hook`;

    const a = await cluster.startWorker();
    const input = rows(31, JOBS, 32);
    const created = await Promise.all(input.map((r) => call(cluster.url, 'POST', '/v1/jobs', {
      model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: [r] }], webhook: url,
    })));
    for (const c of created) expect(c.status).toBe(202);
    const ids = created.map((c) => c.body.id as string);
    const heldBy = async (name: string) => (await queue.getJobs(['active'])).filter((j) => j.processedBy === name).length;
    await eventually(() => heldBy(a.name), (n) => n === JOBS, { ms: 15_000, what: 'worker A to hold every job' });
    const history = (id: string) => call(cluster.url, 'GET', `/v1/jobs/${id}/webhooks`).then((r) => r.body.data as any[]);
    // A's job.start deliveries fail: the receiver is down.
    await eventually(() => Promise.all(ids.map(history)), (hs) => hs.every((h) => h.some((e) => e.type === 'job.start' && e.attempts.length >= 1)),
      { ms: 15_000, every: 200, what: 'every job.start to have failed once', context: () => cluster.logs() });

    const b = await cluster.startWorker({ MODEL_REPOSITORY: SHIPPED_MODELS });
    expect(await heldBy(a.name)).toBe(JOBS); // B found nothing to take
    await cluster.stopWorker(a, 'SIGKILL');
    const killedAt = Date.now();

    // Every job ends on B, with the reference outputs.
    const done = await Promise.all(ids.map((id) => call(cluster.url, 'GET', `/v1/jobs/${id}?wait=30`)));
    const recoverSeconds = (Date.now() - killedAt) / 1000;
    const want = await runAlone(MLP, 'input', 'output', input);
    done.forEach((d, i) => {
      expect(d.body, cluster.logs()).toMatchObject({ status: 'succeeded', metrics: { worker: b.name } });
      d.body.outputs[0].data.forEach((v: number, j: number) => expect(v).toBeCloseTo(want[i]![j]!, 5));
    });
    expect(await queue.getJobCounts('active', 'waiting', 'delayed', 'failed')).toEqual({ active: 0, waiting: 0, delayed: 0, failed: 0 });
    // Their job.completed deliveries fail too before the receiver comes back.
    await eventually(() => Promise.all(ids.map(history)), (hs) => hs.every((h) => h.some((e) => e.type === 'job.completed' && e.attempts.length >= 1)),
      { ms: 15_000, every: 200, what: 'every job.completed to have failed once' });

    const receiver = await WebhookReceiver.start(port);
    cleanups.push(() => receiver.close());
    const upAt = Date.now();
    // A delivery the killed worker had in flight is released by the liveness sweeper like its
    // jobs (without it, only BullMQ's 30 s lock expiry and a stall check brought it back).
    await receiver.until((got) => new Set(got.map((r) => r.id)).size >= 2 * JOBS, 30_000, `${2 * JOBS} events`);
    const arrivedSeconds = (Date.now() - upAt) / 1000;

    // One webhook-id per job and type; job.completed tells the job's one ending.
    const byJob = new Map(done.map((d) => [d.body.id as string, d.body]));
    const idsOf = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const e = JSON.parse(r.body);
      const job = byJob.get(e.data.id);
      expect(job, `an event for an unknown job ${e.data.id}`).toBeDefined();
      if (e.type === 'job.completed') expect(e.data).toMatchObject({ status: 'succeeded', outputs: job.outputs, metrics: { worker: b.name } });
      else expect(e).toMatchObject({ type: 'job.start', data: { status: 'running' } });
      const key = `${e.data.id} ${e.type}`;
      idsOf.set(key, (idsOf.get(key) ?? new Set()).add(r.id));
    }
    expect(idsOf.size).toBe(2 * JOBS);
    for (const [key, webhookIds] of idsOf) expect(webhookIds.size, key).toBe(1);
    // Each job's history lists its two events, both delivered in the end.
    const hs = await eventually(() => Promise.all(ids.map(history)), (all) => all.every((h) => h.length === 2 && h.every((e) => e.status === 'delivered')),
      { ms: 10_000, every: 200, what: 'every delivery recorded as delivered' });
    for (const h of hs) expect(h.map((e) => e.type).sort()).toEqual(['job.completed', 'job.start']);
    const twice = receiver.received.length - 2 * JOBS;
    console.log(`combined chaos: ${JOBS} jobs, 1 worker SIGKILLed holding all of them (finished on the other ${recoverSeconds.toFixed(1)} s after the kill), receiver down then back: ` +
      `lost 0, duplicate endings 0, ${2 * JOBS} events all arrived ${arrivedSeconds.toFixed(1)} s after the receiver came up (${twice} delivered twice, same webhook-id)`);
  });
});
