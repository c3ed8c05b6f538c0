/**
 * GET /v1/batches: a tenant's batches, newest first, a page at a time (`limit`, `after`), as
 * the OpenAI Batch API lists them. Real redis-server, API and worker; two tenants; a short
 * retention, so that a batch leaves the list with its records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantBatchesKey } from '@maas/shared';
import { call, Cluster } from '../src/harness/index.js';

const A = 'key-list-aaaaaaaa';
const B = 'key-list-bbbbbbbb';
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ api: { API_KEYS: `ta:${A},tb:${B}`, BATCH_RETENTION_S: '4' } });
});
afterAll(async () => {
  await cluster?.stop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const line = JSON.stringify({ custom_id: 'r0', inputs: { features: [39.1, 18.7, 181, 3750] } });

async function submit(key: string): Promise<string> {
  const res = await fetch(`${cluster.url}/v1/batches?model=penguins`, { method: 'POST', body: line, headers: { 'content-type': 'application/x-ndjson', ...as(key) } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('GET /v1/batches', () => {
  it('pages through the tenant\'s own batches, newest first; a gone batch leaves the list, and a cursor naming one is a 400', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) {
      mine.push(await submit(A));
      await new Promise((r) => setTimeout(r, 5)); // distinct creation times, though ties are ordered too
    }
    const theirs = await submit(B);
    const newestFirst = [...mine].reverse();

    const first = await call(cluster.url, 'GET', '/v1/batches?limit=2', undefined, as(A));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', first_id: newestFirst[0], last_id: newestFirst[1], has_more: true });
    expect(first.body.data.map((b: { id: string }) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.body.data[0]).toMatchObject({ object: 'batch', model: 'penguins', counts: { total: 1 } });

    // A batch created meanwhile does not shift the next page.
    const newer = await submit(A);
    const second = await call(cluster.url, 'GET', `/v1/batches?limit=2&after=${first.body.last_id}`, undefined, as(A));
    expect(second.body.data.map((b: { id: string }) => b.id)).toEqual(newestFirst.slice(2, 4));
    const third = await call(cluster.url, 'GET', `/v1/batches?limit=2&after=${second.body.last_id}`, undefined, as(A));
    expect(third.body).toMatchObject({ data: [{ id: newestFirst[4] }], has_more: false });

    // Default page, and the other tenant sees only its own.
    const all = await call(cluster.url, 'GET', '/v1/batches', undefined, as(A));
    expect(all.body.data.map((b: { id: string }) => b.id)).toEqual([newer, ...newestFirst]);
    const other = await call(cluster.url, 'GET', '/v1/batches', undefined, as(B));
    expect(other.body).toMatchObject({ data: [{ id: theirs }], has_more: false });
    expect((await call(cluster.url, 'GET', `/v1/batches?after=${mine[0]}`, undefined, as(B))).status).toBe(400);

    // Bad pages.
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'limit=1&limit=2', 'after=batch_nope']) {
      const bad = await call(cluster.url, 'GET', `/v1/batches?${q}`, undefined, as(A));
      expect(bad.status, q).toBe(400);
    }

    // A long run of ids whose batches are gone (past their retention) ahead of the live ones: skipped, and dropped.
    const redis = cluster.redisClient();
    try {
      const key = tenantBatchesKey('ta');
      const ghosts = Array.from({ length: 300 }, (_, i) => `batch_ghost${i}`);
      await redis.zadd(key, ...ghosts.flatMap((id, i) => [String(Date.now() + 1000 + i), id]));
      const skipped = await call(cluster.url, 'GET', '/v1/batches?limit=1', undefined, as(A));
      expect(skipped.body).toMatchObject({ data: [{ id: newer }], has_more: true });
      expect(await redis.zcard(key)).toBe(6); // mine and the newer one
    } finally {
      redis.disconnect();
    }

    // Past their retention (4 s after completing) the batches leave Redis, and the list with them.
    await new Promise((r) => setTimeout(r, 5000));
    const after = await call(cluster.url, 'GET', '/v1/batches', undefined, as(A));
    expect(after.body).toMatchObject({ data: [], first_id: null, last_id: null, has_more: false });
    expect((await call(cluster.url, 'GET', `/v1/batches?after=${mine[1]}`, undefined, as(A))).status).toBe(400);
  });
});
