/**
 * Checks more than one suite makes as a user would, against a running deployment (`url`, its
 * API) or what a service that would not start left (`startAndExit`'s result).
 */
import { expect } from 'vitest';
import { createRedis, scanKeys } from '@maas/shared';
import type { RedisOptions } from 'ioredis';
import { eventually } from './eventually.js';
import { call, rows } from './http.js';

const mlpJob = (data: number[][]) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }] });

/** v2 infer (penguins), a job with Prefer: wait and a polled job (mlp) all answer. */
export async function expectInferWaitAndPoll(url: string): Promise<void> {
  const infer = await call(url, 'POST', '/v2/models/penguins/infer', {
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }],
  });
  expect(infer.status, infer.text).toBe(200);
  expect(infer.body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([0]);

  const waited = await call(url, 'POST', '/v1/jobs', mlpJob(rows(1, 2, 32)), { Prefer: 'wait=20' });
  expect(waited.status, waited.text).toBe(200);
  expect(waited.body.status).toBe('succeeded');
  expect(waited.body.outputs[0].shape[0]).toBe(2);

  const queued = await call(url, 'POST', '/v1/jobs', mlpJob(rows(2, 1, 32)));
  expect(queued.status, queued.text).toBe(202);
  const polled = await eventually(() => call(url, 'GET', `/v1/jobs/${queued.body.id}`), (r) => r.body.status === 'succeeded', { what: 'the polled job' });
  expect(polled.body.outputs[0].shape[0]).toBe(1);
}

/** Ready; /metrics, the status page and the queue board read Redis (after an mlp job ran). */
export async function expectReadyAndReading(url: string): Promise<void> {
  const ready = await call(url, 'GET', '/v2/health/ready');
  expect(ready.status, ready.text).toBe(200);
  const metrics = await call(url, 'GET', '/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.text).toMatch(/^maas_redis_up 1$/m);
  expect(metrics.text).toMatch(/^maas_queue_jobs\{[^}]*model="mlp"/m);
  expect((await call(url, 'GET', '/admin/status.json')).status).toBe(200);
  const board = await call(url, 'GET', '/admin/queues/api/queues');
  expect(board.status, board.text).toBe(200);
  expect(JSON.stringify(board.body)).toContain('infer-mlp');
}

/** A 300-line mlp batch file (`query`: more of its query string) succeeds, its results in its lines' order; its id. */
export async function expectBatchInOrder(url: string, query = ''): Promise<string> {
  const lines = rows(4, 300, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } }));
  const res = await fetch(`${url}/v1/batches?model=mlp${query}`, { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
  expect(res.status).toBe(202);
  const batch = (await res.json()) as { id: string };
  const done = (await call(url, 'GET', `/v1/batches/${batch.id}?wait=30`)).body;
  expect(done).toMatchObject({ status: 'succeeded', counts: { total: 300, succeeded: 300, failed: 0 } });
  const out = (await (await fetch(`${url}/v1/batches/${batch.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
  expect(out.map((l) => l.custom_id)).toEqual(lines.map((_, i) => `r${i}`));
  return batch.id;
}

/** scanKeys (the retention sweep's adoption of older queues) on a cluster at `redisUrl` finds keys written to every master. */
export async function expectScanKeysOnEveryMaster(redisUrl: string, options: RedisOptions = {}): Promise<void> {
  const client = createRedis(redisUrl, { maxRetriesPerRequest: 3, ...options });
  try {
    const written = Array.from({ length: 60 }, (_, i) => `scan-test:{${i}}`); // 60 slots: on every master
    for (const key of written) await client.set(key, '1', 'EX', 60);
    const seen = new Set<string>();
    for await (const key of scanKeys(client, 'scan-test:*', 7)) seen.add(key);
    expect([...seen].sort()).toEqual([...written].sort());
  } finally {
    client.disconnect();
  }
}

/**
 * A service that could not use its Redis ended with exit 1 within 10 s, its fatal line naming
 * REDIS_URL without credentials (`at`: a pattern of it) and `why`.
 */
export function expectStoppedSaying(r: { code: number | null | 'hung'; ms: number; log: string }, at: string, why: RegExp): void {
  expect(r.code, r.log).toBe(1);
  expect(r.ms).toBeLessThan(10_000);
  expect(r.log).toMatch(new RegExp(`"level":"fatal".*cannot reach Redis at ${at} \\(REDIS_URL; connection [^)]+\\): (?:${why.source})`));
}

/** Why a certificate of a CA not trusted is refused, as the TLS library words it. */
export const UNTRUSTED = /self-signed certificate in certificate chain|unable to verify the first certificate/;
