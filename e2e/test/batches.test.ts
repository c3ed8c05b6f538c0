/**
 * Batch submissions end to end: NDJSON streamed in, chunk jobs through the real workers,
 * results in input order with per-line errors, counts, cancel, retention.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@maas/client';
import { Queue } from 'bullmq';
import { batchKeys, chunkJobId, inferenceQueueName, JOB_EVENTS_CHANNEL, parseJobEvents, PREFIX } from '@maas/shared';
import { call, Cluster, eventually, modelRepository, monitorRedis, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp,penguins,fixed' }, api: { BATCH_RETENTION_S: '3' } });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

async function submit(query: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${cluster.url}/v1/batches?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const finished = (id: string, ms = 60_000) =>
  eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms, every: 100, what: `batch ${id} to complete` });

/** Batch keys made since `before` was read. Finished batches of earlier tests expire
 * meanwhile (BATCH_RETENTION_S is 3), so "creates nothing" compares only what is new. */
async function batchKeysSince(before: string[]): Promise<string[]> {
  const had = new Set(before);
  return (await redis.keys('maas:{b-*')).filter((k) => !had.has(k));
}

async function results(id: string): Promise<any[]> {
  const res = await fetch(`${cluster.url}/v1/batches/${id}/results`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
  const text = await res.text();
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('batch submissions', () => {
  it('keeps input order, fails bad lines alone (with their line number), and counts', async () => {
    const data = rows(21, 3000, 32);
    const lines: string[] = [];
    const expected: ({ id: string; row?: number; tensorRows?: number[]; error?: RegExp })[] = [];
    data.forEach((r, i) => {
      if (i % 500 === 7) {
        lines.push('{"custom_id": "broken", "inputs": {"input": [1, 2');
        expected.push({ id: String(lines.length), error: new RegExp(`^line ${lines.length}: not valid JSON`) });
      } else if (i % 500 === 9) {
        lines.push(JSON.stringify({ custom_id: `short-${i}`, inputs: { input: r.slice(0, 31) } }));
        expected.push({ id: `short-${i}`, error: new RegExp(`^line ${lines.length}: `) });
      } else if (i % 700 === 3) {
        lines.push(''); // blank lines are skipped but counted for line numbers
        lines.push(JSON.stringify({ custom_id: `t-${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: [r, data[i + 1]] }] }));
        expected.push({ id: `t-${i}`, tensorRows: [i, i + 1] });
      } else {
        lines.push(JSON.stringify({ custom_id: `r-${i}`, inputs: { input: r } }));
        expected.push({ id: `r-${i}`, row: i });
      }
    });
    lines.push(JSON.stringify({ inputs: { input: data[0] } })); // no custom_id: its line number
    expected.push({ id: String(lines.length), row: 0 });
    const sub = await submit('model=mlp', lines.join('\n') + '\n');
    expect(sub.status).toBe(202);
    expect(sub.headers.get('location')).toBe(`/v1/batches/${sub.body.id}`);
    expect(sub.body).toMatchObject({ object: 'batch', model: 'mlp', version: '1', counts: { total: expected.length } });
    const done = await finished(sub.body.id);
    const bad = expected.filter((e) => e.error).length;
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: expected.length, succeeded: expected.length - bad, failed: bad } });
    const out = await results(sub.body.id);
    expect(out.length).toBe(expected.length);
    const reference = await runAlone(MLP, 'input', 'output', data);
    out.forEach((line, i) => {
      const e = expected[i]!;
      expect(line.custom_id).toBe(e.id);
      if (e.error) {
        expect(line.error.type).toBe('invalid-input');
        expect(line.error.message).toMatch(e.error);
      } else if (e.tensorRows) {
        expect(line.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [2, 2] });
        const want = e.tensorRows.flatMap((r) => reference[r]!);
        line.outputs[0].data.forEach((v: number, j: number) => expect(Math.abs(v - want[j]!)).toBeLessThan(1e-5));
      } else {
        expect(Object.keys(line.outputs)).toEqual(['output']);
        const want = reference[e.row!]!;
        line.outputs.output.forEach((v: number, j: number) => expect(Math.abs(v - want[j]!)).toBeLessThan(1e-5));
      }
    });
  });

  it('a batch every line of which fails its checks still ends succeeded (a bad line fails only itself, CONTRACT §4), never started, each line\'s error in its results', async () => {
    const lines = ['{"custom_id": "a", "inputs": {"input": [1, 2]}}', '{"custom_id": "b", "inputs": {"nope": [1]}}', '{"custom_id": "c"'];
    const sub = await submit('model=mlp', lines.join('\n') + '\n');
    expect(sub.status).toBe(202);
    const done = await finished(sub.body.id);
    expect(done).toMatchObject({ status: 'succeeded', started_at: null, counts: { total: 3, succeeded: 0, failed: 3 } });
    expect(done.error ?? null).toBeNull();
    const out = await results(sub.body.id);
    expect(out.map((l) => [l.custom_id, l.error.type])).toEqual([['a', 'invalid-input'], ['b', 'invalid-input'], ['3', 'invalid-input']]);
  });

  it('tensor-form lines of one row, values as a JSON library prints float32s, return tensors equal to running each row alone', async () => {
    // 8,192 lines fill the first chunk (kept as its ids alone); compact and two-row lines then
    // share the second with more one-row tensor lines (kept as a list).
    const data = rows(31, 8300, 32);
    const tensorLine = (i: number, r: number[][]) =>
      `{"custom_id":"t${i}","inputs":[{"name":"input","datatype":"FP32","shape":[${r.length},32],"data":[${r.flat().map((v) => JSON.stringify(Math.fround(v))).join(',')}]}]}`;
    const lines = data.map((r, i) => (i === 8200 ? JSON.stringify({ custom_id: `c${i}`, inputs: { input: r } }) : i === 8250 ? tensorLine(i, [r, data[0]!]) : tensorLine(i, [r])));
    const sub = await submit('model=mlp', lines.join('\n'));
    expect(sub.status).toBe(202);
    expect((await finished(sub.body.id)).counts).toEqual({ total: 8300, succeeded: 8300, failed: 0 });
    expect(await redis.hget(batchKeys(sub.body.id).lines, '0')).toMatch(/^\{"tensor_ids":\["t0","t1",/);
    expect(await redis.hget(batchKeys(sub.body.id).lines, '1')).toMatch(/^\[\["t8192",1,0\],/);
    const out = await results(sub.body.id);
    const reference = await runAlone(MLP, 'input', 'output', [...data.map((r) => r.map(Math.fround)), data[0]!.map(Math.fround)]);
    expect(out).toHaveLength(8300);
    out.forEach((line, i) => {
      if (i === 8200) {
        expect(line).toEqual({ custom_id: `c${i}`, outputs: { output: expect.any(Array) } });
        line.outputs.output.forEach((v: number, j: number) => expect(Math.abs(v - reference[i]![j]!)).toBeLessThan(1e-5));
        return;
      }
      const two = i === 8250;
      expect(line.custom_id).toBe(`t${i}`);
      expect(line.outputs).toHaveLength(1);
      expect(line.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [two ? 2 : 1, 2] });
      const want = two ? [...reference[i]!, ...reference[8300]!] : reference[i]!;
      line.outputs[0].data.forEach((v: number, j: number) => expect(Math.abs(v - want[j]!)).toBeLessThan(1e-5));
    });
  });

  it('a chunk\'s raw input bytes are removed once the chunk ran; its rows equal running them alone', async () => {
    const data = rows(77, 9000, 32);
    const sub = await submit('model=mlp', data.map((r, i) => JSON.stringify({ custom_id: `p${i}`, inputs: { input: r } })).join('\n'));
    expect(sub.status).toBe(202);
    const done = await finished(sub.body.id);
    expect(done.counts).toEqual({ total: 9000, succeeded: 9000, failed: 0 });
    // The worker removes each chunk's input once its outcome is recorded (just after).
    await eventually(() => redis.keys(`maas:{b-${sub.body.id}}:in:*`), (keys) => keys.length === 0, { ms: 5000, what: 'the chunk inputs to be removed' });
    const out = await results(sub.body.id);
    const alone = await runAlone(MLP, 'input', 'output', [data[0]!, data[8999]!]);
    expect(out[0].outputs.output).toEqual(expect.arrayContaining([expect.any(Number)]));
    out[0].outputs.output.forEach((v: number, j: number) => expect(v).toBeCloseTo(alone[0]![j]!, 5));
    out[8999].outputs.output.forEach((v: number, j: number) => expect(v).toBeCloseTo(alone[1]![j]!, 5));
  });

  it('a line over BATCH_MAX_LINE_MB ends the upload with a 413 as soon as it is known, and creates nothing', async () => {
    const huge = `{"custom_id":"big","inputs":{"input":[${'0.5,'.repeat(1_000_000)}0.5]}}`; // 4 MB, the limit is 2
    const before = await redis.keys('maas:{b-*');
    const t0 = Date.now();
    const res = await submit('model=mlp', `{"custom_id":"a","inputs":{"input":[${rows(3, 1, 32)[0]!.join(',')}]}}\n${huge}\n`);
    expect(res.status).toBe(413);
    expect(res.body.detail).toMatch(/^line 2 is longer than 2097152 bytes/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(res.headers.get('connection')).toBe('close');
    expect(await batchKeysSince(before)).toEqual([]);
  });

  it('compact lines of the classifier return every output of their row; gzip bodies are accepted', async () => {
    const lines = [
      { custom_id: 'adelie', inputs: { features: [39.1, 18.7, 181, 3750] } },
      { custom_id: 'gentoo', inputs: { features: [46.5, 14.5, 213, 4400] } },
    ].map((l) => JSON.stringify(l)).join('\n');
    const sub = await submit('model=penguins&version=2', gzipSync(lines), { 'content-encoding': 'identity, gzip' });
    expect(sub.status).toBe(202);
    await finished(sub.body.id);
    const out = await results(sub.body.id);
    expect(out.map((l) => l.custom_id)).toEqual(['adelie', 'gentoo']);
    expect(out[0].outputs.label).toEqual([0]);
    expect(out[1].outputs.label).toEqual([2]);
    expect(out[0].outputs.probabilities).toHaveLength(3);
  });

  it('a fixed-batch model runs each line alone', async () => {
    const line = (c: string, k: number) => JSON.stringify({ custom_id: c, inputs: [
      { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { name: 'y', datatype: 'INT32', shape: [2, 3], data: [k, k, k, k, k, k] },
    ] });
    const sub = await submit('model=fixed', [line('a', 1), line('b', 10), '{"inputs": {"x": [1,2,3]}}'].join('\n'));
    const done = await finished(sub.body.id);
    expect(done.counts).toEqual({ total: 3, succeeded: 2, failed: 1 });
    const out = await results(sub.body.id);
    expect(out[0].outputs[0].data).toEqual([2, 3, 4, 5, 6, 7]);
    expect(out[1].outputs[0].data).toEqual([11, 12, 13, 14, 15, 16]);
    expect(out[2].error.type).toBe('invalid-input');
  });

  it('results before the batch completes → 409; finished results are removed after the retention', async () => {
    const sub = await submit('model=mlp', rows(5, 2000, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n'));
    const early = await call(cluster.url, 'GET', `/v1/batches/${sub.body.id}/results`);
    if (early.status !== 200) {
      expect(early.body).toMatchObject({ status: 409, type: 'urn:maas:problem:batch-not-finished' });
      expect(early.headers.get('retry-after')).toBe('5');
    }
    const done = await finished(sub.body.id);
    expect(Date.parse(done.expires_at) - Date.parse(done.completed_at)).toBe(3000);
    expect(await redis.keys(`maas:{b-${sub.body.id}}:*`)).toHaveLength(4);
    expect(await redis.keys(`maas:{infer-mlp-v1}:${sub.body.id}-c*`)).toHaveLength(0); // chunk jobs leave with their results kept aside
    await new Promise((r) => setTimeout(r, 3500));
    expect((await call(cluster.url, 'GET', `/v1/batches/${sub.body.id}`)).status).toBe(404);
    expect(await redis.keys(`maas:{b-${sub.body.id}}:*`)).toHaveLength(0);
  });

  it('a chunk gone from Redis mid-download (its retention passed, an eviction) cuts the download short instead of ending it whole without its lines', async () => {
    const sub = await submit('model=mlp', rows(6, 8300, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n'));
    expect((await finished(sub.body.id)).counts.succeeded).toBe(8300);
    const k = batchKeys(sub.body.id);
    await redis.hdel(k.chunks, '1');
    const res = await fetch(`${cluster.url}/v1/batches/${sub.body.id}/results`);
    expect(res.status).toBe(200); // the first chunk's lines are on their way
    await expect(res.text()).rejects.toThrow();
    // Gone from the first chunk on (its outputs, or its lines): a 404 before any line.
    await redis.hdel(k.outputs, '0');
    expect((await call(cluster.url, 'GET', `/v1/batches/${sub.body.id}/results`)).body).toMatchObject({ status: 404 });
    await redis.hdel(k.lines, '0');
    expect((await call(cluster.url, 'GET', `/v1/batches/${sub.body.id}/results`)).body).toMatchObject({ status: 404 });
  });
});

describe('Idempotency-Key on uploads', () => {
  const body = rows(41, 20, 32).map((r, i) => JSON.stringify({ custom_id: `k${i}`, inputs: { input: r } })).join('\n') + '\n';
  const listed = async () => (await call(cluster.url, 'GET', '/v1/batches?limit=100')).body.data.map((b: any) => b.id) as string[];

  it('the same key and target replays the batch (body not read); another target is a 409; a refused upload frees its key', async () => {
    const first = await submit('model=mlp', body, { 'idempotency-key': 'upload-1' });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const before = await listed();
    const again = await submit('model=mlp', body, { 'idempotency-key': 'upload-1' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await listed()).toEqual(before); // no second batch
    const other = await submit('model=penguins', body, { 'idempotency-key': 'upload-1' });
    expect(other.status).toBe(409);
    expect(other.body.detail).toMatch(/another target/);
    expect(other.headers.get('retry-after')).toBeNull(); // it does not pass on its own
    expect(other.body.type).toBe('urn:maas:problem:idempotency-conflict');
    // a key is a job's or a batch's: the same text on /v1/jobs is another key
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32) }] }, { 'idempotency-key': 'upload-1' });
    expect(job.status).toBe(202);

    const refused = await submit('model=mlp', '\n\n', { 'idempotency-key': 'upload-2' }); // no line: a 400
    expect(refused.status).toBe(400);
    const retried = await submit('model=mlp', body, { 'idempotency-key': 'upload-2' });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect((await finished(retried.body.id)).status).toBe('succeeded');
  });

  it('while the key\'s upload is still under way, a second is a 409; once it has ended, a replay', async () => {
    const url = new URL(`${cluster.url}/v1/batches?model=mlp`);
    const slow = request(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': 'upload-3' } });
    const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
      slow.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      slow.on('error', reject);
    });
    const [line, ...rest] = body.split('\n');
    slow.write(`${line}\n`);
    await eventually(async () => (await redis.keys('maas:{b-*')).length, (n) => n > 0, { ms: 5000, every: 50, what: 'the upload to start' });
    await new Promise((r) => setTimeout(r, 300));
    const during = await submit('model=mlp', body, { 'idempotency-key': 'upload-3' });
    expect(during.status).toBe(409);
    expect(during.body.detail).toMatch(/still under way/);
    // It passes on its own: a live upload's lease is renewed, so a second (a cut-off one's: its lease's time left).
    expect(during.body.title).toBe('Idempotency key conflict');
    expect(during.headers.get('retry-after')).toBe('1');
    slow.end(rest.join('\n'));
    const done = await answered;
    expect(done.status).toBe(202);
    const after = await submit('model=mlp', body, { 'idempotency-key': 'upload-3' });
    expect(after.status).toBe(202);
    expect(after.body.id).toBe(done.body.id);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('.npy uploads', () => {
  it('row i of the array is result line i (custom_id "i"), in order, equal to running the row alone', async () => {
    const data = rows(23, 2500, 32);
    const sub = await submit('model=mlp', Buffer.from(encodeNpy(Float32Array.from(data.flat()), [2500, 32])), { 'content-type': 'application/x-npy' });
    expect(sub.status).toBe(202);
    expect(sub.body).toMatchObject({ counts: { total: 2500 } });
    const done = await finished(sub.body.id);
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 2500, succeeded: 2500, failed: 0 } });
    const out = await results(sub.body.id);
    const reference = await runAlone(MLP, 'input', 'output', data);
    expect(out.map((l) => l.custom_id)).toEqual(data.map((_, i) => String(i)));
    out.forEach((line, i) => line.outputs.output.forEach((v: number, j: number) => expect(Math.abs(v - reference[i]![j]!)).toBeLessThan(1e-5)));
  });

  it('results as an .npy array (Accept: application/x-npy): the same values, rows in input order', async () => {
    const data = rows(24, 1500, 32);
    const sub = await submit('model=mlp', Buffer.from(encodeNpy(Float32Array.from(data.flat()), [1500, 32])), { 'content-type': 'application/x-npy' });
    await finished(sub.body.id);
    const res = await fetch(`${cluster.url}/v1/batches/${sub.body.id}/results`, { headers: { accept: 'application/x-npy' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-npy/);
    const buf = Buffer.from(await res.arrayBuffer());
    const headerLen = buf.readUInt16LE(8);
    expect(buf.toString('latin1', 10, 10 + headerLen)).toMatch(/'descr': '<f4', 'fortran_order': False, 'shape': \(1500, 2\)/);
    const got = new Float32Array(buf.buffer, buf.byteOffset + 10 + headerLen, 1500 * 2);
    const ndjson = await results(sub.body.id);
    ndjson.forEach((line, i) => expect([got[2 * i], got[2 * i + 1]]).toEqual(line.outputs.output));
    // Recorded as ONNX Runtime's bytes (not base64), and served as they are.
    const record = (await redis.hgetBuffer(batchKeys(sub.body.id).outputs, '0'))!;
    expect(record.subarray(0, 4).toString('latin1')).toBe('\0TNS');
    expect(record.includes(Buffer.from(got.buffer, got.byteOffset, 1500 * 8))).toBe(true);
  });

  it('uploads at the same time, in many chunks, each build theirs in the API\'s reused blocks: every row is its own', async () => {
    // Two uploads of 40,000 .npy rows (5 chunks of 8,192) and two of 20,000 NDJSON lines (3
    // chunks), all in chunks of 1 MiB blocks (shared block-pool.ts), all at once, each body
    // in 64 KB pieces a timer apart so that their chunks fill at the same time: a block handed
    // to two chunks, or given back before Redis had its bytes, would show as other rows' outputs.
    const uploads = [0, 1, 2, 3].map((k) => {
      const npy = k % 2 === 0;
      const data = rows(31 + k, npy ? 40_000 : 20_000, 32);
      const body = npy
        ? Buffer.from(encodeNpy(Float32Array.from(data.flat()), [data.length, 32]))
        : Buffer.from(data.map((r, i) => `{"custom_id":"n${i}","inputs":{"input":[${r.join(',')}]}}`).join('\n'));
      return { npy, data, body };
    });
    const want = await Promise.all(uploads.map((u) => runAlone(MLP, 'input', 'output', u.data)));
    const trickled = (body: Buffer) => new ReadableStream<Uint8Array>({
      async start(c) {
        for (let at = 0; at < body.length; at += 65_536) {
          c.enqueue(body.subarray(at, at + 65_536));
          await new Promise((r) => setTimeout(r, 1));
        }
        c.close();
      },
    });
    const subs = await Promise.all(uploads.map(async (u) => {
      const res = await fetch(`${cluster.url}/v1/batches?model=mlp`, {
        method: 'POST', headers: { 'content-type': u.npy ? 'application/x-npy' : 'application/x-ndjson' }, body: trickled(u.body), duplex: 'half',
      } as RequestInit);
      return { status: res.status, body: (await res.json()) as any };
    }));
    expect(subs.map((s) => s.status)).toEqual([202, 202, 202, 202]);
    await Promise.all(subs.map((s) => finished(s.body.id)));
    const outs = await Promise.all(subs.map((s) => results(s.body.id)));
    outs.forEach((out, k) => {
      expect(out).toHaveLength(want[k]!.length);
      out.forEach((line, i) => {
        expect(line.custom_id).toBe(uploads[k]!.npy ? String(i) : `n${i}`);
        line.outputs.output.forEach((v: number, j: number) => {
          if (Math.abs(v - want[k]![i]![j]!) > 1e-5) throw new Error(`upload ${k}, line ${i}: ${JSON.stringify(line.outputs.output)} against ${JSON.stringify(want[k]![i])}`);
        });
      });
    });
  });

  it('.npy results need every line to have succeeded and one output (or ?output=)', async () => {
    const withBad = await submit('model=mlp', [JSON.stringify({ inputs: { input: rows(1, 1, 32)[0] } }), '{"broken'].join('\n'));
    await finished(withBad.body.id);
    const npyOf = (id: string, query = '') => call(cluster.url, 'GET', `/v1/batches/${id}/results${query}`, undefined, { accept: 'application/x-npy' });
    expect((await npyOf(withBad.body.id)).body).toMatchObject({ status: 406, detail: expect.stringMatching(/1 of 2 lines failed/) });
    const penguins = await submit('model=penguins&version=2', JSON.stringify({ inputs: { features: [39.1, 18.7, 181, 3750] } }));
    await finished(penguins.body.id);
    expect((await npyOf(penguins.body.id)).body).toMatchObject({ status: 406, detail: expect.stringMatching(/\?output=/) });
    const probs = await fetch(`${cluster.url}/v1/batches/${penguins.body.id}/results?output=probabilities`, { headers: { accept: 'application/x-npy' } });
    expect(probs.status).toBe(200);
    // An output the model does not have is a bad parameter, whatever the format; so is a repeated one.
    expect((await npyOf(penguins.body.id, '?output=nope')).body).toMatchObject({ status: 400, detail: expect.stringMatching(/names no output of penguins; its outputs: probabilities, label/) });
    expect((await npyOf(penguins.body.id, '?output=probabilities&output=label')).body).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
    // A parameter the results do not read is a 400 that names those they do, not NDJSON for a guess at a format.
    expect((await call(cluster.url, 'GET', `/v1/batches/${penguins.body.id}/results?format=npy`)).body).toMatchObject({ status: 400, detail: expect.stringMatching(/unknown query parameter 'format' \(output and failed are read; .npy results are asked for with Accept: application\/x-npy\)/) });
    expect((await call(cluster.url, 'GET', '/v1/batches?limit=5&page=2')).body).toMatchObject({ status: 400, detail: expect.stringMatching(/unknown query parameter 'page' \(after and limit are read\)/) });
    expect((await call(cluster.url, 'GET', `/v1/batches/${penguins.body.id}/results?output=nope`)).body).toMatchObject({ status: 400, detail: expect.stringMatching(/names no output of penguins/) }); // as NDJSON too (it was ignored)
    expect((await call(cluster.url, 'GET', `/v1/batches/${penguins.body.id}/results?output=label`)).status).toBe(200); // one it has: NDJSON, every output
    // .npy preferred but impossible, NDJSON acceptable too: NDJSON, not a 406; the answer varies with Accept.
    for (const id of [withBad.body.id, penguins.body.id]) {
      const res = await fetch(`${cluster.url}/v1/batches/${id}/results`, { headers: { accept: 'application/x-npy, application/x-ndjson;q=0.5' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(res.headers.get('vary')).toMatch(/Accept/i);
      expect((await res.text()).trim().split('\n')).toHaveLength(id === withBad.body.id ? 2 : 1);
    }
    expect(probs.headers.get('vary')).toMatch(/Accept/i);
    const unfinished = await Cluster.start({ workers: 0 });
    try {
      const queued = (await (await fetch(`${unfinished.url}/v1/batches?model=mlp`, { method: 'POST', body: JSON.stringify({ inputs: { input: rows(1, 1, 32)[0] } }), headers: { 'content-type': 'application/x-ndjson' } })).json()) as { id: string };
      expect((await call(unfinished.url, 'GET', `/v1/batches/${queued.id}/results`, undefined, { accept: 'application/x-npy' })).body).toMatchObject({ status: 409 });
      expect((await fetch(`${unfinished.url}/v1/batches/${queued.id}/results`, { method: 'HEAD' })).status).toBe(409);
    } finally {
      await unfinished.stop();
    }
  });

  it('a wrong dtype, shape, model or a truncated file is a 400 that names the problem, and creates nothing', async () => {
    const before = await redis.keys('maas:{b-*');
    const npyBody = (arr: Float32Array | Float64Array, shape: number[]) => Buffer.from(encodeNpy(arr, shape));
    const bad = async (query: string, body: Buffer) => (await submit(query, body, { 'content-type': 'application/x-npy' })).body;
    expect(await bad('model=mlp', npyBody(new Float64Array(64), [2, 32]))).toMatchObject({ status: 400, detail: expect.stringMatching(/dtype '<f8', but input 'input' is FP32/) });
    expect(await bad('model=mlp', npyBody(new Float32Array(62), [2, 31]))).toMatchObject({ status: 400, detail: expect.stringMatching(/shape \(2, 31\) does not match/) });
    expect(await bad('model=fixed', npyBody(new Float32Array(6), [2, 3]))).toMatchObject({ status: 400, detail: expect.stringMatching(/2 inputs: use NDJSON/) });
    const whole = npyBody(new Float32Array(32 * 3000), [3000, 32]);
    expect(await bad('model=mlp', whole.subarray(0, whole.length - 4))).toMatchObject({ status: 400, detail: expect.stringMatching(/data ends after/) });
    expect(await bad('model=mlp', Buffer.from('{"inputs": {"input": [1]}}\n'))).toMatchObject({ status: 400, detail: expect.stringMatching(/magic string/) });
    expect(await batchKeysSince(before)).toEqual([]);
    // The truncated file's first chunks were queued before its end came short: they are
    // withdrawn, or dropped by the worker that already held them; none runs or waits.
    await eventually(async () => (await redis.zcard('maas:{infer-mlp-v1}:prioritized')) + (await redis.llen('maas:{infer-mlp-v1}:active')), (n) => n === 0, { ms: 10_000, what: 'no chunk left' });
    expect(await batchKeysSince(before)).toEqual([]);
  });
});

describe('HEAD of results', () => {
  it('answers as GET would (status, content type, after the same checks) without reading a chunk', async () => {
    const ok = await submit('model=mlp', rows(3, 4, 32).map((r) => JSON.stringify({ inputs: { input: r } })).join('\n'));
    await finished(ok.body.id);
    const k = batchKeys(ok.body.id);
    const touched: string[] = [];
    const monitor = await monitorRedis(cluster.redis.port, ({ args }) => {
      if (args.some((a) => a === k.outputs || a === k.lines)) touched.push(args.join(' '));
    });
    try {
      const head = (accept: string) => fetch(`${cluster.url}/v1/batches/${ok.body.id}/results`, { method: 'HEAD', headers: { accept } });
      const ndjson = await head('application/x-ndjson');
      expect(ndjson.status).toBe(200);
      expect(ndjson.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(ndjson.headers.get('vary')).toMatch(/Accept/i);
      const npy = await head('application/x-npy');
      expect(npy.status).toBe(200);
      expect(npy.headers.get('content-type')).toMatch(/^application\/x-npy/);
      expect((await fetch(`${cluster.url}/v1/batches/batch_nope/results`, { method: 'HEAD' })).status).toBe(404);
      await new Promise((r) => setTimeout(r, 200)); // the monitor's last lines
      expect(touched).toEqual([]);
      // what GET reads, the monitor sees
      expect((await fetch(`${cluster.url}/v1/batches/${ok.body.id}/results`)).status).toBe(200);
      await eventually(async () => touched.length, (n) => n > 0, { ms: 5_000, what: 'GET to read the chunks' });
    } finally {
      monitor.stop();
    }
    const withBad = await submit('model=mlp', '{"broken');
    await finished(withBad.body.id);
    expect((await fetch(`${cluster.url}/v1/batches/${withBad.body.id}/results`, { method: 'HEAD', headers: { accept: 'application/x-npy' } })).status).toBe(406);
  });
});

describe('batch errors', () => {
  it('bad submissions are 4xx problems and create nothing', async () => {
    const before = await redis.keys('maas:{b-*');
    expect((await submit('', '{"inputs": {}}')).body).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
    expect((await submit('model=nope', '{"inputs": {}}')).status).toBe(404);
    expect((await submit('model=mlp&version=9', '{"inputs": {}}')).status).toBe(404);
    expect((await submit('model=mlp', '\n\n')).body).toMatchObject({ status: 400, detail: expect.stringMatching(/no request line/) });
    expect((await submit('model=mlp', '{}', { 'content-type': 'image/png' })).status).toBe(415);
    // JSON text sequences (RFC 7464) are framed by a record separator, not by lines: a 415 rather than every line failed.
    expect((await submit('model=mlp', '\u001e{"inputs": {}}\n', { 'content-type': 'application/json-seq' })).body).toMatchObject({ status: 415, type: 'urn:maas:problem:unsupported-media-type' });
    // A JSON type is a 415 too, whatever the body (it was read as one JSON document first: two lines were a 400 malformed-json)
    for (const body of ['{"inputs": {}}', '{"inputs": {}}\n{"inputs": {}}']) {
      expect((await submit('model=mlp', body, { 'content-type': 'application/json' })).body).toMatchObject({ status: 415, type: 'urn:maas:problem:unsupported-media-type' });
    }
    expect((await submit('model=mlp&webhook=ftp://x.example/', '{}')).status).toBe(400);
    // a webhook URL whose & was not encoded: its tail is an unknown parameter, refused rather than dropped
    expect((await submit('model=mlp&webhook=https://hooks.example/x?a=1&b=2', '{}')).body).toMatchObject({ status: 400, detail: expect.stringMatching(/unknown query parameter 'b'.*%26/) });
    // A gzip stream or a NumPy file sent as NDJSON: a 415 that says how to send it, not a batch of lines failing as not UTF-8.
    const gzipped = gzipSync(`${JSON.stringify({ inputs: { input: Array(32).fill(0.5) } })}\n`.repeat(50));
    expect((await submit('model=mlp', gzipped)).body).toMatchObject({ status: 415, detail: expect.stringMatching(/Content-Encoding: gzip/) });
    const npy = Buffer.concat([Buffer.from([0x93]), Buffer.from("NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 32), }"), Buffer.alloc(128)]);
    expect((await submit('model=mlp', npy)).body).toMatchObject({ status: 415, detail: expect.stringMatching(/application\/x-npy/) });
    // NDJSON is UTF-8: another charset is a 415, not lines read as mojibake.
    expect((await submit('model=mlp', '{"inputs": {}}', { 'content-type': 'application/x-ndjson; charset=utf-16' })).body).toMatchObject({ status: 415, detail: expect.stringMatching(/UTF-8/) });
    expect(await batchKeysSince(before)).toEqual([]);
    expect((await call(cluster.url, 'GET', '/v1/batches/batch_nope')).status).toBe(404);
    expect((await call(cluster.url, 'GET', '/v1/batches/job_x/results')).status).toBe(404);
  });
});

describe('cancel', () => {
  it('chunks not yet run never run; the batch ends canceled and its lines report it', async () => {
    // A worker without mlp: the chunks wait in the queue.
    const other = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'penguins' } });
    try {
      const body = rows(6, 3000, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n') + '\n{"bad": 1}';
      const res = await fetch(`${other.url}/v1/batches?model=mlp`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
      const batch = (await res.json()) as any;
      expect(batch.status).toBe('queued');
      const c = await call(other.url, 'POST', `/v1/batches/${batch.id}/cancel`);
      expect(c.body).toMatchObject({ status: 'canceled', counts: { total: 3001, succeeded: 0, failed: 3001 } });
      expect(c.body.completed_at).not.toBeNull();
      // The withdrawn chunks' input bytes went with them (no worker will ever remove them).
      const conn = other.redisClient();
      try {
        expect(await conn.keys(`${batchKeys(batch.id).input(0).replace(/0$/, '')}*`)).toEqual([]);
      } finally {
        conn.disconnect();
      }
      await other.startWorker({ WORKER_MODELS: 'mlp' });
      await new Promise((r) => setTimeout(r, 1000));
      const after = await call(other.url, 'GET', `/v1/batches/${batch.id}`);
      expect(after.body).toMatchObject({ status: 'canceled', counts: { succeeded: 0 } });
      const text = await (await fetch(`${other.url}/v1/batches/${batch.id}/results`)).text();
      const out = text.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(out).toHaveLength(3001);
      expect(out[0]).toEqual({ custom_id: 'r0', error: { type: 'canceled', message: expect.any(String) } });
      expect(out[3000].error.type).toBe('invalid-input');
    } finally {
      await other.stop();
    }
  });
});

describe('cancel of a batch of many chunks', () => {
  it('30,000 chunks (a model that takes no batches: a chunk a line) end canceled, the API alive; a cancel cut short is finished by the next', async () => {
    // No worker for `fixed`: every chunk waits in the queue.
    const c = await Cluster.start({ workers: 0 });
    const conn = c.redisClient();
    const queue = new Queue(inferenceQueueName('fixed', 1), { connection: conn, prefix: PREFIX });
    try {
      const line = (i: number) => JSON.stringify({ custom_id: `f${i}`, inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
        { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 1, 1, 1, 1, 1] },
      ] });
      const submit = async (n: number) => (await (await fetch(`${c.url}/v1/batches?model=fixed`, { method: 'POST', body: Array.from({ length: n }, (_, i) => line(i)).join('\n'), headers: { 'content-type': 'application/x-ndjson' } })).json()) as any;
      const many = await submit(30_000);
      expect(many).toMatchObject({ status: 'queued', counts: { total: 30_000 } });
      const canceled = await call(c.url, 'POST', `/v1/batches/${many.id}/cancel`);
      expect(canceled.status).toBe(200);
      expect(canceled.body).toMatchObject({ status: 'canceled', counts: { total: 30_000, succeeded: 0, failed: 30_000 }, completed_at: expect.any(String) });
      expect((await call(c.url, 'GET', '/v2/health/live')).status).toBe(200);
      const out = (await (await fetch(`${c.url}/v1/batches/${many.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(out).toHaveLength(30_000);
      expect(out[29_999]).toEqual({ custom_id: 'f29999', error: { type: 'canceled', message: expect.any(String) } });

      // A cancel whose process stopped after withdrawing a chunk and marking the batch, before
      // recording anything: the batch is canceled, one chunk has neither a job nor an outcome.
      const cut = await submit(3);
      await conn.hset(batchKeys(cut.id).meta, 'status', 'canceled');
      expect(await queue.remove(chunkJobId(cut.id, 1))).toBe(1);
      expect((await call(c.url, 'GET', `/v1/batches/${cut.id}`)).body).toMatchObject({ status: 'canceled', completed_at: null });
      const again = await call(c.url, 'POST', `/v1/batches/${cut.id}/cancel`);
      expect(again.body).toMatchObject({ status: 'canceled', counts: { total: 3, failed: 3 }, completed_at: expect.any(String) });
      const lines = (await (await fetch(`${c.url}/v1/batches/${cut.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.error?.type)).toEqual(['canceled', 'canceled', 'canceled']);
    } finally {
      await queue.close();
      conn.disconnect();
      await c.stop();
    }
  }, 120_000);
});

describe('long-poll: GET /v1/batches/{id}?wait=N', () => {
  it('answers when the batch completes (woken by its announcement) or after N; a cancel wakes it; a client that leaves is let go', async () => {
    // A worker without mlp: the batches wait until a worker for mlp starts.
    const c = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'penguins' } });
    const events = c.redisClient();
    try {
      const heard: any[] = [];
      events.on('message', (_ch: string, m: string) => heard.push(...parseJobEvents(m)));
      await events.subscribe(JOB_EVENTS_CHANNEL);
      const post = async (seed: number) =>
        (await (await fetch(`${c.url}/v1/batches?model=mlp`, { method: 'POST', body: rows(seed, 3000, 32).map((r) => JSON.stringify({ inputs: { input: r } })).join('\n'), headers: { 'content-type': 'application/x-ndjson' } })).json()) as any;
      const get = (id: string, query: string, signal?: AbortSignal) => fetch(`${c.url}/v1/batches/${id}${query}`, signal ? { signal } : {});
      const waiting = async () => Number(/^maas_api_waiting_requests (\d+)/m.exec(await (await fetch(`${c.url}/metrics`)).text())?.[1]);
      const a = await post(41);

      // Not done within N: the batch as it stands, after N.
      let t0 = Date.now();
      const early = (await (await get(a.id, '?wait=1')).json()) as any;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      expect(early).toMatchObject({ id: a.id, status: 'queued', completed_at: null });
      for (const bad of ['abc', '-1', '1e', 'Infinity']) expect((await get(a.id, `?wait=${bad}`)).status).toBe(400);
      expect((await get('batch_nope', '?wait=5')).status).toBe(404);

      // A client that goes away is not held until its deadline.
      const leaving = new AbortController();
      const gone = get(a.id, '?wait=30', leaving.signal).catch(() => 'aborted');
      await eventually(waiting, (n) => n === 1, { ms: 5000, what: 'the request to wait' });
      leaving.abort();
      expect(await gone).toBe('aborted');
      await eventually(waiting, (n) => n === 0, { ms: 5000, what: 'the waiter to be let go' });

      // A cancel completes a queued batch: its waiter answers with it.
      const b = await post(42);
      const canceledWait = get(b.id, '?wait=30').then((r) => r.json() as Promise<any>);
      await eventually(waiting, (n) => n === 1, { ms: 5000, what: 'the request to wait' });
      await call(c.url, 'POST', `/v1/batches/${b.id}/cancel`);
      expect(await canceledWait).toMatchObject({ id: b.id, status: 'canceled', completed_at: expect.any(String) });

      // A worker for mlp runs the first batch: its waiter answers as it completes.
      t0 = Date.now();
      const done = get(a.id, '?wait=30').then((r) => r.json() as Promise<any>);
      await c.startWorker({ WORKER_MODELS: 'mlp' });
      expect(await done).toMatchObject({ id: a.id, status: 'succeeded', counts: { total: 3000, succeeded: 3000, failed: 0 }, completed_at: expect.any(String) });
      expect(Date.now() - t0).toBeLessThan(30_000);
      // Both completions were announced under the batch's id (the worker's, and the API's for the cancel).
      await eventually(async () => heard, (h) => [a.id, b.id].every((id) => h.some((e) => e.id === id && e.event === 'completed')), { ms: 5000, what: 'both announcements' });
    } finally {
      events.disconnect();
      await c.stop();
    }
  });
});

describe('while a batch runs', () => {
  // Runs of 1,024 rows preferred, waiting up to 3 s for them: the full 8,192-row chunk runs at
  // once, the short last chunk waits in the worker's window, which leaves time to watch the
  // counts and to cancel.
  const lines = (seed: number, n: number) => rows(seed, n, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');
  let slow: Cluster;
  let repo: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    repo = await modelRepository({ mlp: { max_queue_delay_ms: 3000, preferred_batch_sizes: [1024] } });
    slow = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp' } });
  });
  afterAll(async () => {
    await slow?.stop();
    await repo?.remove();
  });
  const post = async (body: string) =>
    (await (await fetch(`${slow.url}/v1/batches?model=mlp`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })).json()) as any;
  const watch = (id: string, ok: (b: any) => boolean) =>
    eventually(async () => (await call(slow.url, 'GET', `/v1/batches/${id}`)).body, ok, { ms: 10_000, every: 25, what: `batch ${id} to match` });

  it('counts move: running with the full chunks done, then succeeded', async () => {
    const batch = await post(lines(31, 8194)); // chunks of 8,192 and 2 rows
    const midway = await watch(batch.id, (b) => b.counts.succeeded === 8192);
    expect(midway).toMatchObject({ status: 'running', completed_at: null, counts: { total: 8194, succeeded: 8192, failed: 0 } });
    expect(midway.started_at).not.toBeNull();
    const done = await watch(batch.id, (b) => b.completed_at !== null);
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 8194, succeeded: 8194, failed: 0 } });
  });

  it('a batch is running from when a worker takes its first chunk, before any line has an outcome', async () => {
    const batch = await post(lines(33, 2)); // one short chunk: it waits in the worker's window
    const taken = await watch(batch.id, (b) => b.status === 'running');
    expect(taken).toMatchObject({ counts: { total: 2, succeeded: 0, failed: 0 }, started_at: expect.any(String), completed_at: null });
    const done = await watch(batch.id, (b) => b.completed_at !== null);
    expect(done.started_at).toBe(taken.started_at);
    expect(Date.parse(done.completed_at) - Date.parse(done.started_at)).toBeGreaterThan(1000); // the window's wait
  });

  it('cancel while running: what ran keeps its results, the chunk still waiting in the worker never runs', async () => {
    const batch = await post(lines(32, 8194));
    await watch(batch.id, (b) => b.counts.succeeded === 8192);
    const canceled = await call(slow.url, 'POST', `/v1/batches/${batch.id}/cancel`);
    expect(canceled.body.status).toBe('canceled');
    const done = await watch(batch.id, (b) => b.completed_at !== null);
    expect(done).toMatchObject({ status: 'canceled', counts: { total: 8194, succeeded: 8192, failed: 2 } });
    const out = (await (await fetch(`${slow.url}/v1/batches/${batch.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(out).toHaveLength(8194);
    expect(out[0].outputs.output).toHaveLength(2);
    expect(out[8193]).toEqual({ custom_id: 'r8193', error: { type: 'canceled', message: expect.any(String) } });
  });
});

describe('a batch long-poll across a Redis outage', () => {
  it('keeps waiting while Redis is away (its re-reads fail), and answers the completion after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-batch-wait-'));
    const c = await Cluster.start({ workers: 0, redisDir: dir }); // persisted: the batch outlives the restart
    try {
      const body = rows(33, 10, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');
      const batch = (await (await fetch(`${c.url}/v1/batches?model=mlp`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })).json()) as any;
      await new Promise((r) => setTimeout(r, 1100)); // the append-only file has it (fsync every second)
      const waited = fetch(`${c.url}/v1/batches/${batch.id}?wait=30`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
      await new Promise((r) => setTimeout(r, 300));
      await c.redis.kill();
      await new Promise((r) => setTimeout(r, 4500)); // two re-reads (every 2 s) find Redis away
      await c.redis.restart();
      await c.startWorker();
      const answer = await waited;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ id: batch.id, status: 'succeeded', counts: { total: 10, succeeded: 10 } });
    } finally {
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an upload refused while Redis is away', () => {
  it('gives its Idempotency-Key back once Redis answers again: a retry with the key is taken, not refused (409) until the lease runs out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-upload-outage-'));
    const c = await Cluster.start({ workers: 0, redisDir: dir }); // persisted: the lease and the key outlive the restart
    try {
      const { request } = await import('node:http');
      const line = (i: number) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: rows(i, 1, 32)[0] } }) + '\n';
      const headers = { 'content-type': 'application/x-ndjson', 'idempotency-key': 'outage-1' };
      const req = request(`${c.url}/v1/batches?model=mlp`, { method: 'POST', headers });
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      for (let i = 0; i < 100; i++) req.write(line(i));
      await new Promise((r) => setTimeout(r, 1100)); // the append-only file has the lease and the key
      await c.redis.kill();
      req.end(line(100)); // the rest comes once Redis is gone: the upload fails with it
      expect(await answered).toBe(503);
      await c.redis.restart();
      // The API reconnects and gives them back within about a second of Redis; the lease would
      // hold the key for UPLOAD_LEASE_S (30 s) more. A retry now and then, as a client's.
      const body = Array.from({ length: 10 }, (_, i) => line(i)).join('');
      const restarted = Date.now();
      const retry = await eventually(
        async () => (await fetch(`${c.url}/v1/batches?model=mlp`, { method: 'POST', body, headers })).status,
        (status) => status === 202,
        { ms: 12_000, every: 500, what: 'a retry with the key to be taken' },
      );
      expect(retry).toBe(202);
      expect(Date.now() - restarted).toBeLessThan(12_000);
      expect(c.api.log).toMatch(/failed upload given back once Redis answered/);
    } finally {
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an upload cut off half way', () => {
  it('leaves no batch and no chunk job behind', async () => {
    const idle = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'penguins' } }); // mlp chunks would wait
    const client = idle.redisClient();
    try {
      const { request } = await import('node:http');
      const req = request(`${idle.url}/v1/batches?model=mlp`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } });
      req.on('error', () => {}); // we cut it ourselves
      const line = (i: number) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: rows(i, 1, 32)[0] } }) + '\n';
      for (let i = 0; i < 20_000; i++) req.write(line(i)); // two chunks of 8,192 rows and more
      // Wait until the API has queued chunks from it, then drop the connection.
      await eventually(() => client.keys('maas:{infer-mlp-v1}:batch_*'), (keys) => keys.length > 0, { ms: 5000, what: 'chunks from the upload' });
      req.destroy();
      await eventually(() => client.keys('maas:{b-*'), (keys) => keys.length === 0, { ms: 5000, what: 'the batch keys to go' });
      expect(await client.keys('maas:{infer-mlp-v1}:batch_*')).toEqual([]);
      expect(idle.api.child.exitCode).toBeNull();
    } finally {
      client.disconnect();
      await idle.stop();
    }
  });
});

describe('big batches and the worker fleet', () => {
  it('a worker holds a few chunks at a time (row budget), so chunks wait in Redis for any worker', async () => {
    const fleet = await Cluster.start({ workers: 0 });
    const { Queue } = await import('bullmq');
    const conn = fleet.redisClient();
    const queue = new Queue('{infer-mlp-v1}', { prefix: 'maas', connection: conn });
    try {
      const body = rows(41, 1024, 32).map((r) => JSON.stringify({ inputs: { input: r } }));
      const lines = Array.from({ length: 80 }, () => body.join('\n')).join('\n'); // 81,920 rows: 10 chunks of 8,192
      const res = await fetch(`${fleet.url}/v1/batches?model=mlp`, { method: 'POST', body: lines, headers: { 'content-type': 'application/x-ndjson' } });
      const batch = (await res.json()) as { id: string };
      expect((await queue.getJobCounts('prioritized')).prioritized).toBe(10);
      // Each chunk's input waits as raw float32 bytes in its own key; the job only points at them.
      const first = (await queue.getJob(`${batch.id}-c0`))!;
      expect(first.data.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [8192, 32], at: [0, 8192 * 32 * 4] }]);
      expect(JSON.stringify(first.data)).not.toContain('b64');
      expect(await conn.strlen(first.data.payload)).toBe(8192 * 32 * 4);
      await fleet.startWorker({ WORKER_MODELS: 'mlp' });
      let maxActive = 0;
      for (;;) {
        const counts = await queue.getJobCounts('active', 'prioritized');
        maxActive = Math.max(maxActive, counts.active!);
        const b = (await call(fleet.url, 'GET', `/v1/batches/${batch.id}`)).body;
        if (b.completed_at) {
          expect(b.counts).toEqual({ total: 81920, succeeded: 81920, failed: 0 });
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      // mlp: chunks of 8,192 rows → a budget of two chunks (one running, the next fetched), +1 being fetched.
      expect(maxActive).toBeGreaterThan(0);
      expect(maxActive).toBeLessThanOrEqual(3);
    } finally {
      await queue.close();
      conn.disconnect();
      await fleet.stop();
    }
  });
});
