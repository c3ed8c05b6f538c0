/**
 * Redis losing what a request under way had written (a disaster-recovery audit):
 * - a batch upload during which Redis goes back in time (restored from an older copy, a lagged
 *   replica promoted): chunks the API queued after the copy was made are gone, and the upload is
 *   refused (503, "send it again") and withdrawn, instead of accepted as a batch that can never
 *   complete (202, then `running` forever with 2 of 8 chunks gone). The copy is Redis's own
 *   snapshot (SAVE), and `DEBUG RELOAD NOSAVE` loads it back in place;
 * - a job waited for by the request that created it (`Prefer: wait`, a v2 infer), flushed away
 *   meanwhile: a 503 that says to send it again, not a 404 'job not found' (which a KServe client
 *   reads as an unknown model).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@maas/client';
import { inferenceQueueName, PREFIX } from '@maas/shared';
import { call, Cluster, eventually, rows } from '../src/harness/index.js';

const ROWS_PER_CHUNK = 8192; // the mlp's .npy chunks
let cluster: Cluster;
let redis: Redis;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maas-restore-'));
  // No worker: the chunks stay queued, as behind a busy fleet.
  cluster = await Cluster.start({ workers: 0, redisArgs: ['--dir', dir, '--enable-debug-command', 'local'] });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The chunks the one upload under way has queued so far (its meta's count). */
async function landed(): Promise<number> {
  const metas = await redis.keys(`${PREFIX}:{b-*}:meta`);
  if (metas.length !== 1) return 0;
  return Number((await redis.hget(metas[0]!, 'chunks_landed')) ?? 0);
}

describe('an upload while Redis is restored from an older copy', () => {
  it('is refused with a 503 that says to send it again, and leaves no batch and no chunk behind', async () => {
    const total = 6 * ROWS_PER_CHUNK;
    const body = Buffer.from(encodeNpy(Float32Array.from(rows(5, total, 32).flat()), [total, 32]));
    const header = body.length - total * 32 * 4;
    const upTo = (chunks: number) => header + chunks * ROWS_PER_CHUNK * 32 * 4;
    const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${cluster.url}/v1/batches?model=mlp`, { method: 'POST', headers: { 'content-type': 'application/x-npy', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      (async () => {
        req.write(body.subarray(0, upTo(2) + 1)); // two chunks full, a third begun
        await eventually(landed, (n) => n >= 2, { ms: 20_000, what: 'two chunks queued' });
        await redis.save(); // the copy: two chunks
        req.write(body.subarray(upTo(2) + 1, upTo(4) + 1));
        await eventually(landed, (n) => n >= 4, { ms: 20_000, what: 'four chunks queued' });
        // Redis goes back to the copy: chunks 2 and 3 are gone, the API's connections stay.
        expect(await redis.call('DEBUG', 'RELOAD', 'NOSAVE')).toBe('OK');
        expect(await landed()).toBe(2);
        req.end(body.subarray(upTo(4) + 1));
      })().catch(reject);
    });
    const res = await answer;
    expect(res.status).toBe(503);
    expect(res.body.type).toMatch(/redis-unavailable/);
    expect(res.body.detail).toMatch(/lost part of this request's records.*send the upload again/);
    // Withdrawn: no batch listed, no batch keys, no chunk job queued.
    expect((await call(cluster.url, 'GET', '/v1/batches')).body.data).toEqual([]);
    await eventually(() => redis.keys(`${PREFIX}:{b-*`), (keys) => keys.length === 0, { ms: 10_000, what: 'the batch keys removed' });
    const queue = inferenceQueueName('mlp', 1);
    expect(await redis.llen(`${PREFIX}:${queue}:wait`) + await redis.zcard(`${PREFIX}:${queue}:prioritized`)).toBe(0);
  });
});

describe('a job lost while the request that created it waits', () => {
  it('answers 503 "send the request again", for a Prefer: wait job and a v2 infer alike', async () => {
    const input = [{ name: 'input', shape: [1, 32], datatype: 'FP32', data: rows(9, 1, 32)[0] }];
    const waiting = [
      fetch(`${cluster.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=3' }, body: JSON.stringify({ model: 'mlp', inputs: input }) }),
      fetch(`${cluster.url}/v2/models/mlp/infer`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=3' }, body: JSON.stringify({ inputs: input, parameters: { timeout: 3_000_000 } }) }),
    ];
    // Both queued (no worker runs them), then Redis loses everything.
    const queue = inferenceQueueName('mlp', 1);
    await eventually(async () => await redis.llen(`${PREFIX}:${queue}:wait`) + await redis.zcard(`${PREFIX}:${queue}:prioritized`), (n) => n >= 2, { what: 'both jobs queued' });
    await redis.flushall();
    for (const res of await Promise.all(waiting)) {
      const body = (await res.json()) as { type: string; detail: string };
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(body.type).toMatch(/redis-unavailable/);
      expect(body.detail).toMatch(/lost part of this request's records.*send the request again/);
    }
  });
});

