/**
 * A batch file of integer inputs, as a text model takes them (`tokens`: INT64 ids and an INT32
 * mask). The API reads such lines straight into their chunk (row-scan.ts), in the compact and
 * the tensor form, with Python's `, ` between values; lines it does not read that way (a `1.0`,
 * an INT32 out of range) take the general path, which accepts the one and fails the other
 * alone. Every result line is its own row run alone through onnxruntime, in input order.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTokensModel, TOKENS_WIDTH } from '@maas/model-gen/test-models';
import { addModel, call, Cluster, eventually, modelRepository } from '../src/harness/index.js';

const LINES = 3000;
let cluster: Cluster;
let repo: Awaited<ReturnType<typeof modelRepository>>;
let modelPath: string;

beforeAll(async () => {
  repo = await modelRepository();
  modelPath = await addModel(repo.dir, 'tokens', buildTokensModel(), { max_batch_size: 64 });
  cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'tokens' } });
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

/** Row i: ids of up to 15 digits, some negative, and a mask of 0s and 1s. */
function row(i: number): { ids: number[]; mask: number[] } {
  const ids = Array.from({ length: TOKENS_WIDTH }, (_, k) => {
    const n = ((i + 1) * 7_919 * (k + 3) * 104_729 ** (k % 3)) % 999_999_999_999_999;
    return k === 5 ? -n : n;
  });
  const mask = Array.from({ length: TOKENS_WIDTH }, (_, k) => ((i + k) % 3 === 0 ? 0 : 1));
  return { ids, mask };
}

describe('a batch file of integer inputs (INT64 ids, INT32 mask)', () => {
  it('reads every form, fails only the bad line, and answers each row as onnxruntime does, in order', async () => {
    const text = Array.from({ length: LINES }, (_, i) => {
      const { ids, mask } = row(i);
      if (i === 17) return JSON.stringify({ custom_id: `k${i}`, inputs: { ids, mask: [2 ** 31, ...mask.slice(1)] } }); // INT32 out of range: fails alone
      if (i % 10 === 3) {
        // the tensor form, with a `1.0` among the ids: the general path reads it as 1
        const data = ids.map((v, k) => (k === 0 ? '1.0' : String(v))).join(',');
        return `{"custom_id":"k${i}","inputs":[{"name":"mask","datatype":"INT32","shape":[1,${TOKENS_WIDTH}],"data":[${mask.join(', ')}]},{"name":"ids","datatype":"INT64","shape":[1,${TOKENS_WIDTH}],"data":[${data}]}]}`;
      }
      return `{"custom_id":"k${i}","inputs":{"ids":[${ids.join(', ')}],"mask":[${mask.join(',')}]}}`;
    }).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=tokens`, { method: 'POST', body: text, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
    expect(done.counts).toEqual({ total: LINES, succeeded: LINES - 1, failed: 1 });

    const results = (await (await fetch(`${cluster.url}/v1/batches/${id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as {
      custom_id: string; outputs?: { kept: number[] } | { name: string; data: number[] }[]; error?: { type: string; message: string };
    });
    expect(results.map((l) => l.custom_id)).toEqual(Array.from({ length: LINES }, (_, i) => `k${i}`));
    expect(results[17]!.error).toMatchObject({ type: 'invalid-input' });
    expect(results[17]!.error!.message).toMatch(/mask/);

    const session = await ort.InferenceSession.create(modelPath);
    try {
      for (let i = 0; i < LINES; i++) {
        if (i === 17) continue;
        const { ids, mask } = row(i);
        if (i % 10 === 3) ids[0] = 1;
        const out = await session.run({
          ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, TOKENS_WIDTH]),
          mask: new ort.Tensor('int32', Int32Array.from(mask), [1, TOKENS_WIDTH]),
        });
        const want = Array.from(out['kept']!.data as BigInt64Array, Number);
        const got = i % 10 === 3 ? (results[i]!.outputs as { name: string; data: number[] }[])[0]!.data : (results[i]!.outputs as { kept: number[] }).kept;
        if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`line ${i}: ${JSON.stringify(got)} from the service, ${JSON.stringify(want)} from onnxruntime`);
      }
    } finally {
      await session.release();
    }
  });

  it('ids past 2^53 (hashed ids, up to the INT64 extremes) are read and written exactly, in both forms', async () => {
    const big = ['9223372036854775807', '-9223372036854775808', '9007199254740993', '-9007199254740993', '1234567890123456789', '18014398509481985'];
    const ids = (i: number) => Array.from({ length: TOKENS_WIDTH }, (_, k) => big[(i + k) % big.length]!);
    const mask = (i: number) => Array.from({ length: TOKENS_WIDTH }, (_, k) => (k === i % TOKENS_WIDTH ? 0 : 1));
    const lines = Array.from({ length: 12 }, (_, i) => (i % 2 === 0
      ? `{"custom_id":"b${i}","inputs":{"ids":[${ids(i).join(',')}],"mask":[${mask(i).join(',')}]}}`
      : `{"custom_id":"b${i}","inputs":[{"name":"ids","datatype":"INT64","shape":[1,${TOKENS_WIDTH}],"data":[${ids(i).join(', ')}]},{"name":"mask","datatype":"INT32","shape":[1,${TOKENS_WIDTH}],"data":[${mask(i).join(',')}]}]}`));
    const res = await fetch(`${cluster.url}/v1/batches?model=tokens`, { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
    expect(done.counts).toEqual({ total: lines.length, succeeded: lines.length, failed: 0 });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${id}/results`)).text()).trimEnd().split('\n');
    const session = await ort.InferenceSession.create(modelPath);
    try {
      for (let i = 0; i < lines.length; i++) {
        const out = await session.run({
          ids: new ort.Tensor('int64', BigInt64Array.from(ids(i).map(BigInt)), [1, TOKENS_WIDTH]),
          mask: new ort.Tensor('int32', Int32Array.from(mask(i)), [1, TOKENS_WIDTH]),
        });
        // The digits themselves: JSON.parse would round them on this side too.
        const want = Array.from(out['kept']!.data as BigInt64Array, String).join(',');
        expect(want).toMatch(/9223372036854775807|9007199254740993/);
        expect(results[i], `line ${i}`).toContain(i % 2 === 0 ? `"kept":[${want}]` : `"data":[${want}]`);
      }
    } finally {
      await session.release();
    }
  });

  it('a line that is not UTF-8 (an id with a byte 0xff) fails alone; its neighbours run', async () => {
    const good = (id: string) => Buffer.from(`{"custom_id":"${id}","inputs":{"ids":[${Array.from({ length: TOKENS_WIDTH }, (_, k) => k).join(',')}],"mask":[${Array.from({ length: TOKENS_WIDTH }, () => 1).join(',')}]}}\n`);
    const bad = Buffer.concat([Buffer.from('{"custom_id":"b'), Buffer.from([0xff]), good('').subarray(good('').indexOf('","inputs"'))]);
    const res = await fetch(`${cluster.url}/v1/batches?model=tokens`, { method: 'POST', body: Buffer.concat([good('a'), bad, good('c')]), headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
    expect(done.counts).toEqual({ total: 3, succeeded: 2, failed: 1 });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { custom_id: string; error?: { message: string } });
    expect(results.map((r) => r.custom_id)).toEqual(['a', '2', 'c']);
    expect(results[1]!.error!.message).toBe('line 2: the line is not UTF-8 text');
  });
});
