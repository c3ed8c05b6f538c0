/**
 * Quotas (issue 14): per-tenant limits on queued rows (jobs and batch uploads together) and on
 * requests a second → 429 + Retry-After; priorities below PRIORITY_FLOOR reserved to the
 * tenants allowed them (403). No worker serves penguins at first, so its jobs stay queued;
 * once one starts and drains them, the tenant may queue again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually } from '../src/harness/index.js';

const KEYS = { alpha: 'key-alpha', beta: 'key-beta', gamma: 'key-gamma', delta: 'key-delta', vip: 'key-vip', chatty: 'key-chatty' };
const QUOTA = 5;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 0,
    api: {
      API_KEYS: Object.entries(KEYS).map(([t, k]) => `${t}:${k}`).join(','),
      QUOTA_QUEUED_ROWS: String(QUOTA),
      INFER_TIMEOUT_S: '2', // a v2 infer no worker answers gives up soon
      PRIORITY_FLOOR: '10',
      TENANT_QUOTAS: JSON.stringify({ vip: { queued_rows: 0, min_priority: 1 }, chatty: { rps: 3 } }),
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

const api = (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(cluster.url, method, path, body, { authorization: `Bearer ${key}`, ...headers });
const penguin = (extra: Record<string, unknown> = {}, rows = 1) => ({
  model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 4], data: Array.from({ length: rows }, () => [39, 18, 181, 3750]) }], ...extra,
});
const ndjson = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { features: [39, 18, 181, 3750] } })).join('\n');

describe('quotas', () => {
  it('reserves urgent priorities to the tenants allowed them', async () => {
    const denied = await api(KEYS.alpha, 'POST', '/v1/jobs', penguin({ priority: 1 }));
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    expect(denied.body.detail).toMatch(/priority 1 is reserved/);
    const vip = await api(KEYS.vip, 'POST', '/v1/jobs', penguin({ priority: 1 }));
    expect(vip.status).toBe(202);
  });

  it('refuses a batch upload whose chunk alone passes the quota (413), also with nothing queued (a job that large may go alone)', async () => {
    const over = await api(KEYS.beta, 'POST', '/v1/batches?model=penguins', ndjson(QUOTA + 1), { 'content-type': 'application/x-ndjson' });
    expect(over.status).toBe(413); // never fits, however long one waits: not a 429 to retry
    expect(over.headers.get('retry-after')).toBeNull();
    expect(over.body).toMatchObject({ type: 'urn:maas:problem:payload-too-large', queued_rows: 0, quota_rows: QUOTA });
    expect(over.body.detail).toMatch(/next 6 rows pass it alone: send the batch in parts of at most 5 rows/);
    const listed = await api(KEYS.beta, 'GET', '/v1/batches');
    expect(listed.body.data.filter((b: { status: string }) => b.status !== 'failed' && b.status !== 'canceled')).toEqual([]);
  });

  it('counts queued rows per tenant, jobs and batch uploads together, then answers 429 with Retry-After', async () => {
    expect((await api(KEYS.alpha, 'POST', '/v1/jobs', penguin({ priority: 10 }, 2))).status).toBe(202);
    const batch = await api(KEYS.alpha, 'POST', '/v1/batches?model=penguins', ndjson(2), { 'content-type': 'application/x-ndjson' });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    const last = await api(KEYS.alpha, 'POST', '/v1/jobs', penguin());
    expect(last.status).toBe(202); // 2 + 2 + 1 = 5 rows: at the quota
    const over = await api(KEYS.alpha, 'POST', '/v1/jobs', penguin());
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(over.body).toMatchObject({ type: 'urn:maas:problem:quota-exceeded', queued_rows: QUOTA, quota_rows: QUOTA });
    const overBatch = await api(KEYS.alpha, 'POST', '/v1/batches?model=penguins', ndjson(3), { 'content-type': 'application/x-ndjson' });
    expect(overBatch.status).toBe(429);
    // another tenant's quota is its own, and vip has none
    expect((await api(KEYS.beta, 'POST', '/v1/jobs', penguin({}, QUOTA))).status).toBe(202);
    for (let i = 0; i < QUOTA + 2; i++) expect((await api(KEYS.vip, 'POST', '/v1/jobs', penguin())).status).toBe(202);
    // canceling a queued job gives its rows back
    expect((await api(KEYS.alpha, 'POST', `/v1/jobs/${last.body.id}/cancel`)).body.status).toBe('canceled');
    expect((await api(KEYS.alpha, 'POST', '/v1/jobs', penguin())).status).toBe(202);
    expect((await api(KEYS.alpha, 'POST', '/v1/jobs', penguin())).status).toBe(429);
  });

  it('counts each of concurrent jobs on its own, packed into one job or not: the quota of rows is taken and the rest refused, and a canceled one frees its rows', async () => {
    // Concurrent single-row creates of one tenant share a BullMQ job (job-packer.ts); the quota
    // counted that job as one: 40 were taken past a quota of 5, or all but one refused.
    const burst = async (n: number) => Promise.all(Array.from({ length: n }, () => api(KEYS.gamma, 'POST', '/v1/jobs', penguin())));
    const first = await burst(20);
    expect(first.map((r) => r.status).sort()).toEqual([...Array(QUOTA).fill(202), ...Array(20 - QUOTA).fill(429)]);
    const taken = first.filter((r) => r.status === 202);
    for (const r of taken.slice(0, 2)) expect((await api(KEYS.gamma, 'POST', `/v1/jobs/${r.body.id}/cancel`)).body.status).toBe('canceled');
    const second = await burst(6);
    expect(second.filter((r) => r.status === 202)).toHaveLength(2);
  });

  it('counts each of concurrent v2 infer requests on its own too (they share a job as /v1/jobs do)', async () => {
    const infer = () => api(KEYS.delta, 'POST', '/v2/models/penguins/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] });
    const answers = await Promise.all(Array.from({ length: 20 }, infer));
    // QUOTA of them are queued and wait for a worker there is none of (INFER_TIMEOUT_S), the rest refused at once
    expect(answers.filter((a) => a.status === 429)).toHaveLength(20 - QUOTA);
    expect(answers.filter((a) => a.status !== 429).map((a) => a.status)).toEqual(Array(QUOTA).fill(answers.find((a) => a.status !== 429)!.status));
    expect(answers.find((a) => a.status !== 429)!.status).not.toBe(200);
  });

  it('frees the rows once workers take the jobs', async () => {
    await cluster.startWorker({ WORKER_MODELS: 'penguins' });
    await eventually(
      async () => (await api(KEYS.alpha, 'POST', '/v1/jobs', penguin())).status,
      (s) => s === 202,
      { ms: 60_000, every: 500, what: 'alpha to be under its quota again', context: () => cluster.logs() },
    );
  });

  it('limits requests a second per tenant, with Retry-After, leaving others alone', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => api(KEYS.chatty, 'GET', '/v1/models')));
    const limited = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(3);
    expect(limited.length).toBeGreaterThanOrEqual(7);
    expect(limited[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited[0]!.body.type).toBe('urn:maas:problem:rate-limited');
    expect((await api(KEYS.beta, 'GET', '/v1/models')).status).toBe(200);
  });
});
