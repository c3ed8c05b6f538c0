/**
 * A failed job's trail through the logs (README, Operating it): one job id, grepped, finds the
 * API's line for the client that waited on it, the worker's `inference failed` line (with its
 * tenant, model and worker) and the failed webhook attempts' line (its receiver's origin only,
 * the reason), at most one of those per receiver a minute, counted by reason in /metrics.
 * Real redis-server, API and one worker; the `lookup` test model (an index past 9 fails its
 * run: the client's input); a receiver that answers 500 to everything.
 */
import { buildLookupModel } from '@maas/model-gen/test-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, call, Cluster, eventually, modelRepository, WebhookReceiver } from '../src/harness/index.js';

const KEY = 'key-alpha';
let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };
let receiver: WebhookReceiver;

beforeAll(async () => {
  repo = await modelRepository();
  await addModel(repo.dir, 'lookup', buildLookupModel(), {});
  receiver = await WebhookReceiver.start();
  receiver.answer = () => ({ status: 500 });
  cluster = await Cluster.start({
    models: repo.dir,
    workers: 1,
    api: { API_KEYS: `alpha:${KEY}`, WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'info' },
    worker: { WORKER_MODELS: 'lookup', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,60s', LOG_LEVEL: 'info' },
  });
  await eventually(async () => (await api('GET', '/v2/models/lookup/ready')).status, (s) => s === 200, { what: 'lookup ready' });
});
afterAll(async () => {
  await cluster?.stop();
  await receiver?.close();
  await repo?.remove();
});

const api = (method: string, path: string, body?: unknown) => call(cluster.url, method, path, body, { authorization: `Bearer ${KEY}` });
const idx = (i: number) => ({ model: 'lookup', inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [i] }] });

/** The JSON lines of a process's log that mention `text`. */
const linesWith = (log: string, text: string): any[] =>
  log.split('\n').filter((l) => l.startsWith('{') && l.includes(text)).map((l) => JSON.parse(l));

describe("a failed job's trail", () => {
  it('names the job, its tenant, model and worker in the API and the worker; the webhook to a 500 receiver warns once a minute with its origin and reason', async () => {
    const hook = `${new URL(receiver.url).origin}/hooks/in?token=s3cret`;
    const created = await api('POST', '/v1/jobs', { ...idx(100), webhook: hook });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id: string = created.body.id;
    const job = (await api('GET', `/v1/jobs/${id}?wait=20`)).body;
    expect(job).toMatchObject({ status: 'failed', error: { type: 'inference-failed' } });

    const worker = cluster.workers[0]!;
    const failed = await eventually(async () => linesWith(worker.log, id).filter((l) => l.msg === 'inference failed'), (l) => l.length === 1, { what: "the worker's line" });
    // The client's input: a warning, without a stack; one line for the run, naming the job.
    expect(failed[0]).toMatchObject({ level: 'warn', job_ids: [id], jobs: 1, tenants: ['alpha'], model: 'lookup', version: 1, worker: 'wrk_test1', cause: 'input' });
    expect(typeof failed[0].err).toBe('string');
    expect(failed[0].err).not.toMatch(/\b100\b/); // the input value onnxruntime quotes is masked (the job's own error keeps it)
    expect(JSON.stringify(job.error)).toMatch(/\b100\b/);

    // Every worker line names its worker.
    const lines = worker.log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.worker !== 'wrk_test1')).toEqual([]);

    // Attempts go on (1 s apart) while only the first is logged at warn, for the receiver's origin.
    await eventually(async () => receiver.received.length, (n) => n >= 4, { ms: 20_000, what: 'four attempts' });
    const attempts = linesWith(worker.log, 'webhook attempt failed').filter((l) => l.level === 'warn');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      job_id: id, tenant: 'alpha', event: expect.stringMatching(/^job\./), webhook_id: expect.any(String), origin: new URL(receiver.url).origin,
      reason: 'http_5xx', status: 500, worker: 'wrk_test1', next_attempt_at: expect.any(String),
    });
    expect(worker.log).not.toContain('s3cret');
    expect(worker.log).not.toContain('/hooks/in');

    // Counted by reason (the API's /metrics holds the worker's).
    const retried = (text: string) => Number(/^maas_webhook_attempts_total\{(?=[^}]*reason="http_5xx")(?=[^}]*result="retry")[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
    await eventually(async () => retried((await api('GET', '/metrics')).body as string), (n) => n >= 3, { ms: 10_000, every: 300, what: 'retries counted by reason' });
  });

  it("names the job in the API's line when a waiting client's job fails", async () => {
    const r = await api('POST', '/v2/models/lookup/infer', { inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [300] }] });
    expect(r.status, JSON.stringify(r.body)).toBe(500);
    const id: string = r.body.job_id;
    expect(id).toEqual(expect.any(String));
    const apiLine = await eventually(async () => linesWith(cluster.api.log, id), (l) => l.some((x) => x.job_id === id), { what: "the API's line" });
    expect(apiLine.find((x) => x.job_id === id)).toMatchObject({ problem: 'inference-failed', job_id: id });
    expect(JSON.stringify(apiLine)).not.toMatch(/\b300\b/); // the input value, masked in the log
    expect(r.body.detail ?? r.body.error).toMatch(/\b300\b/); // and kept in the client's answer
    expect(linesWith(cluster.workers[0]!.log, id).find((l) => l.msg === 'inference failed')).toMatchObject({ job_ids: [id], tenants: ['alpha'] });
  });
});
