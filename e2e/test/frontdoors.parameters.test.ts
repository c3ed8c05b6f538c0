/**
 * Triton's request parameters a v2 infer acts on, over REST and gRPC (tritonclient's
 * `infer(..., priority=, timeout=)`): `priority` orders the queue as `/v1/jobs` `priority`
 * does (a reserved one is a 403), and `timeout` (µs) expires a request no worker started in
 * time, answered as Triton answers one that timed out in its queue. Everything is queued while
 * no worker serves the model, then a worker starts.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullFailedKey, inferenceQueueName } from '@maas/shared';
import { call, Cluster, eventually, InferenceClient } from '../src/harness/index.js';

let cluster: Cluster;
let grpc: InferenceClient;

beforeAll(async () => {
  // Priorities below 50 are reserved (the default tenant may not use them).
  cluster = await Cluster.start({ workers: 0, api: { PRIORITY_FLOOR: '50' } });
  grpc = new InferenceClient(cluster.grpcAddress);
});
afterAll(async () => {
  grpc?.close();
  await cluster?.stop();
});

/** A request to `fixed` (not batchable: each request its own job, run alone). */
const fixed = (parameters?: Record<string, unknown>) => ({
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
    { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 1, 1, 1, 1, 1] },
  ],
  ...(parameters ? { parameters } : {}),
});
const infer = (parameters?: Record<string, unknown>) => call(cluster.url, 'POST', '/v2/models/fixed/infer', fixed(parameters));
const at = (iso: string) => Date.parse(iso);
const waitingJobs = async () => Number(/^maas_api_waiting_requests (\d+)/m.exec((await call(cluster.url, 'GET', '/metrics')).body as string)?.[1]);

describe('v2 infer parameters: priority and timeout', () => {
  it('are checked: a whole number in range, and a reserved priority is a 403, over REST and gRPC', async () => {
    for (const parameters of [{ priority: -1 }, { priority: 'high' }, { timeout: 1.5 }, { timeout: -3 }]) {
      const r = await infer(parameters);
      expect(r.status, JSON.stringify(parameters)).toBe(400);
      expect(r.body.detail).toMatch(/parameters\.(priority|timeout): must be a whole number/);
    }
    const reserved = await infer({ priority: 10 });
    expect(reserved.status).toBe(403);
    expect(reserved.body.detail).toMatch(/priority 10 is reserved/);
    const viaGrpc = (parameters: object) => grpc.call('ModelInfer', { model_name: 'fixed', ...toGrpc(fixed()), parameters }).then(() => status.OK, (e: { code: number }) => e.code);
    expect(await viaGrpc({ priority: { int64_param: '10' } })).toBe(status.PERMISSION_DENIED);
    expect(await viaGrpc({ timeout: { string_param: 'soon' } })).toBe(status.INVALID_ARGUMENT);
  });

  it('priority orders the queue; a request whose timeout passes before a worker starts it answers 504 (REST) / DEADLINE_EXCEEDED (gRPC) then', async () => {
    const plain = [infer(), infer(), infer()];
    await eventually(waitingJobs, (n) => n === 3, { ms: 5000, what: 'three requests queued' });
    const urgent = infer({ priority: 60 }); // ahead of the default (100)
    // 1 µs: past its deadline at once, answered then, though no worker serves the model yet.
    const expired = await infer({ timeout: 1 });
    expect(expired.status).toBe(504);
    // `error` is the detail, as Triton's error bodies carry it (the job's own error says `expired`).
    expect(expired.body).toMatchObject({ type: 'urn:maas:problem:timeout', job_status: 'failed', error: expect.stringMatching(/timeout .* passed before job .* ran/) });
    expect((await call(cluster.url, 'GET', `/v1/jobs/${expired.body.job_id}`)).body).toMatchObject({ status: 'failed', started_at: null, error: { type: 'expired' } });
    const expiredGrpc = await grpc.call('ModelInfer', { model_name: 'fixed', ...toGrpc(fixed()), parameters: { timeout: { uint64_param: '1' } } }).then(() => status.OK, (e: { code: number }) => e.code);
    expect(expiredGrpc).toBe(status.DEADLINE_EXCEEDED);
    const patient = infer({ timeout: 120_000_000 }); // two minutes: runs
    await eventually(waitingJobs, (n) => n === 5, { ms: 5000, what: 'five requests queued' });
    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    try {
      const [u, ...rest] = await Promise.all([urgent, ...plain, patient]);
      for (const r of [u!, ...rest]) {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.outputs[0].data).toEqual([2, 3, 4, 5, 6, 7]);
      }
      const started = async (r: { headers: Headers }) => at((await call(cluster.url, 'GET', `/v1/jobs/${r.headers.get('x-job-id')}`)).body.started_at);
      const urgentAt = await started(u!);
      for (const r of rest) expect(urgentAt).toBeLessThanOrEqual(await started(r));
    } finally {
      await cluster.stopWorker(worker);
    }
  });
});

describe('/v1/jobs timeout_ms', () => {
  it('a job no worker started by its deadline reads as expired then, for a waiting client too; the worker that reaches it later leaves it so', async () => {
    const job = (extra: Record<string, unknown> = {}) => ({ model: 'fixed', ...fixed(), timeout_ms: 400, ...extra });
    const t0 = Date.now();
    const waited = await call(cluster.url, 'POST', '/v1/jobs', job(), { Prefer: 'wait=10' });
    expect(Date.now() - t0).toBeLessThan(3000); // answered at the deadline, not after the 10 s
    expect(waited.body).toMatchObject({ status: 'failed', started_at: null, error: { type: 'expired' } });
    expect(Date.parse(waited.body.completed_at) - Date.parse(waited.body.created_at)).toBeGreaterThanOrEqual(395);
    // Its timeout counts from its created_at: a 1 ms one ends 1 ms after it, never before it.
    for (let i = 0; i < 3; i++) {
      const brief = (await call(cluster.url, 'POST', '/v1/jobs', job({ timeout_ms: 1 }), { Prefer: 'wait=5' })).body;
      expect(brief).toMatchObject({ status: 'failed', error: { type: 'expired' } });
      expect(Date.parse(brief.completed_at) - Date.parse(brief.created_at)).toBe(1);
    }
    const other = (await call(cluster.url, 'POST', '/v1/jobs', job())).body;
    expect(other.status).toBe('queued');
    const t1 = Date.now();
    const polled = await call(cluster.url, 'GET', `/v1/jobs/${other.id}?wait=10`);
    expect(Date.now() - t1).toBeLessThan(3000);
    expect(polled.body).toMatchObject({ status: 'failed', error: { type: 'expired' } });
    // A cancel after the deadline changes nothing: the job has ended.
    expect((await call(cluster.url, 'POST', `/v1/jobs/${other.id}/cancel`)).body).toEqual(polled.body);
    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    try {
      // The API ended both at their deadlines (services/expiry.ts): the worker fails them at its fetch, never running them.
      const redis = cluster.redisClient();
      try {
        const failed = bullFailedKey(inferenceQueueName('fixed', 1));
        await eventually(async () => Promise.all([waited.body.id, other.id].map((id) => redis.zscore(failed, id))), (s) => s.every((x) => x !== null), { ms: 10_000, what: 'the worker to fail both' });
      } finally {
        redis.disconnect();
      }
      expect((await call(cluster.url, 'GET', `/v1/jobs/${waited.body.id}`)).body).toEqual(waited.body);
      expect((await call(cluster.url, 'GET', `/v1/jobs/${other.id}`)).body).toEqual(polled.body);
    } finally {
      await cluster.stopWorker(worker);
    }
  });
});

/** A JSON request's tensors as ModelInfer fields (typed contents). */
function toGrpc(req: ReturnType<typeof fixed>) {
  return {
    inputs: req.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: t.datatype === 'FP32' ? { fp32_contents: t.data } : { int_contents: t.data } })),
  };
}
