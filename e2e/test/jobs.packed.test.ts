/**
 * `/v1/jobs` of one turn packed into one carrier job (apps/api/src/services/job-packer.ts):
 * each is still a job of its own to its client (id, status, metadata, outputs of its own rows
 * only, cancel, tenant), against real redis-server, API and worker processes.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIndexKey, parseJobIndex } from '@maas/shared';
import { call, Cluster, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0, api: { API_KEYS: 'a:key-a,b:key-b' } });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const job = (data: number[][], extra: Record<string, unknown> = {}) => ({
  model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }], ...extra,
});

/** The carrier of each job id (undefined: the job is a BullMQ job of its own). */
const carriers = async (ids: string[]) => Promise.all(ids.map(async (id) => parseJobIndex((await redis.get(jobIndexKey(id)))!).carrier));

/** Creates `n` jobs at once, in rounds until some share a carrier; returns the round's replies and their inputs. */
async function createPacked(n: number, seed: number, headers: Record<string, string> = {}, extra: (k: number) => Record<string, unknown> = () => ({})) {
  for (let round = 0; round < 5; round++) {
    const inputs = Array.from({ length: n }, (_, k) => rows(seed + round * 100 + k, 1 + (k % 3), 32));
    const replies = await Promise.all(inputs.map((data, k) => call(cluster.url, 'POST', '/v1/jobs', job(data, { metadata: { k }, ...extra(k) }), { ...A, ...headers })));
    const ids = replies.map((r) => r.body.id as string);
    const of = await carriers(ids);
    if (of.some((c, i) => c !== undefined && of.indexOf(c) !== i)) return { replies, inputs, ids, of };
  }
  throw new Error('no two creates of a round shared a carrier in 5 rounds');
}

describe('/v1/jobs packed into carrier jobs', () => {
  let packed: Awaited<ReturnType<typeof createPacked>>;
  let canceled = '';

  it('concurrent creates share carriers, each a queued job of its own with its own id and metadata', async () => {
    packed = await createPacked(24, 1);
    packed.replies.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.headers.get('location')).toBe(`/v1/jobs/${r.body.id}`);
      expect(r.body).toMatchObject({ object: 'job', status: 'queued', model: 'mlp', metadata: { k }, outputs: null });
    });
    expect(new Set(packed.ids).size).toBe(24);
    // Nothing but the member ids is shown: a carrier id is not a job anybody can read.
    const carrier = packed.of.find((c) => c !== undefined)!;
    expect((await call(cluster.url, 'GET', `/v1/jobs/${carrier}`, undefined, A)).status).toBe(404);
  });

  it('a member is canceled while its carrier is queued; the others of its carrier are not', async () => {
    const i = packed.of.findIndex((c, j) => c !== undefined && packed.of.indexOf(c) !== j);
    canceled = packed.ids[i]!;
    const sibling = packed.ids[packed.of.indexOf(packed.of[i])]!;
    expect((await call(cluster.url, 'POST', `/v1/jobs/${canceled}/cancel`, undefined, B)).status).toBe(404); // another tenant's
    const c = await call(cluster.url, 'POST', `/v1/jobs/${canceled}/cancel`, undefined, A);
    expect(c.body).toMatchObject({ id: canceled, status: 'canceled', started_at: null, outputs: null, error: { type: 'canceled' } });
    expect((await call(cluster.url, 'POST', `/v1/jobs/${canceled}/cancel`, undefined, A)).body.status).toBe('canceled'); // again: the same
    expect((await call(cluster.url, 'GET', `/v1/jobs/${sibling}`, undefined, A)).body.status).toBe('queued');
  });

  it('once a worker runs them, each member gets exactly what a direct ONNX Runtime run gives its own rows', async () => {
    await cluster.startWorker();
    const done = await Promise.all(packed.ids.map((id) => call(cluster.url, 'GET', `/v1/jobs/${id}?wait=30`, undefined, A)));
    const expected = await Promise.all(packed.inputs.map((data) => runAlone(MLP, 'input', 'output', data)));
    done.forEach((d, k) => {
      expect(d.body.id).toBe(packed.ids[k]);
      expect(d.body.metadata).toEqual({ k });
      if (d.body.id === canceled) {
        expect(d.body).toMatchObject({ status: 'canceled', outputs: null, metrics: null });
        return;
      }
      expect(d.body.status, JSON.stringify(d.body.error)).toBe('succeeded');
      expect(d.body.outputs[0].shape).toEqual([packed.inputs[k]!.length, 2]);
      d.body.outputs[0].data.forEach((v: number, j: number) => expect(Math.abs(v - expected[k]!.flat()[j]!)).toBeLessThanOrEqual(1e-5));
      expect(d.body.metrics.batch_size).toBeGreaterThanOrEqual(packed.inputs[k]!.length);
    });
    // A member that ended stays as it ended: a late cancel changes nothing; another tenant sees nothing.
    const finished = packed.ids.find((id) => id !== canceled)!;
    expect((await call(cluster.url, 'POST', `/v1/jobs/${finished}/cancel`, undefined, A)).body.status).toBe('succeeded');
    expect((await call(cluster.url, 'GET', `/v1/jobs/${finished}`, undefined, B)).status).toBe(404);
  });

  it('Prefer: wait answers each packed member with its own rows', async () => {
    const p = await createPacked(16, 500, { Prefer: 'wait=30' });
    const expected = await Promise.all(p.inputs.map((data) => runAlone(MLP, 'input', 'output', data)));
    p.replies.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ status: 'succeeded', metadata: { k } });
      expect(r.body.outputs[0].data).toHaveLength(expected[k]!.flat().length);
      r.body.outputs[0].data.forEach((v: number, j: number) => expect(Math.abs(v - expected[k]!.flat()[j]!)).toBeLessThanOrEqual(1e-5));
    });
    // each answer is the member as a later read shows it (times included)
    for (const r of p.replies.slice(0, 4)) expect((await call(cluster.url, 'GET', `/v1/jobs/${r.body.id}`, undefined, A)).body).toEqual(r.body);
  });

  it('jobs with a webhook, a timeout or an Idempotency-Key are never packed', async () => {
    const sets: [string, (k: number) => Record<string, unknown>, Record<string, string>][] = [
      ['webhook', () => ({ webhook: 'https://example.com/hook' }), {}],
      ['timeout', () => ({ timeout_ms: 60_000 }), {}],
    ];
    for (const [what, extra] of sets) {
      const replies = await Promise.all(Array.from({ length: 12 }, (_, k) => call(cluster.url, 'POST', '/v1/jobs', job(rows(k, 1, 32), extra(k)), A)));
      expect(replies.map((r) => r.status), what).toEqual(Array(12).fill(202));
      expect(await carriers(replies.map((r) => r.body.id)), what).toEqual(Array(12).fill(undefined));
    }
    const keyed = await Promise.all(Array.from({ length: 12 }, (_, k) => call(cluster.url, 'POST', '/v1/jobs', job(rows(k, 1, 32)), { ...A, 'Idempotency-Key': `pack-${k}` })));
    expect(await carriers(keyed.map((r) => r.body.id))).toEqual(Array(12).fill(undefined));
  });
});
