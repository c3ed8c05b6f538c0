/**
 * Outputs that dwarf their inputs (`wide_out`: 4 inputs, 768 outputs a row). A batch: chunks
 * are sized by their outputs too, so a chunk's output record stays about a mebibyte, and the
 * results (written in pieces) are every row's own outputs, in input order. A request: JSON
 * outputs past PIECEWISE_VALUES are made in pieces (json-pieces.ts), the same document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWideOutputModel, WIDE_OUT_INPUTS } from '@maas/model-gen/test-models';
import { addModel, call, Cluster, eventually, modelRepository, runAlone } from '../src/harness/index.js';

const WIDTH = 768;
const ROWS = 2500;
let cluster: Cluster;
let repo: Awaited<ReturnType<typeof modelRepository>>;
let modelPath: string;

beforeAll(async () => {
  repo = await modelRepository();
  modelPath = await addModel(repo.dir, 'wide', buildWideOutputModel(WIDTH), { max_batch_size: 256 });
  cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'wide' } });
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

const row = (i: number) => Array.from({ length: WIDE_OUT_INPUTS }, (_, k) => ((i * 7 + k * 3) % 11) / 11 - 0.5);

describe('a batch of wide outputs', () => {
  it('is cut into chunks of about a mebibyte of output, and every result line is its row run alone, in order', async () => {
    const body = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ custom_id: `w${i}`, inputs: { x: row(i) } })).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=wide`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
    expect(done.counts).toEqual({ total: ROWS, succeeded: ROWS, failed: 0 });
    // 3 KB of output a row: 341 rows a mebibyte, rounded down to whole runs of 256 → 256-row
    // chunks (by their 16-byte inputs alone a chunk would hold 16,384 rows: 50 MB of output).
    const redis = cluster.redisClient();
    const chunks = await redis.hget(`maas:{b-${id}}:meta`, 'chunks_total').finally(() => redis.disconnect());
    expect(Number(chunks)).toBe(Math.ceil(ROWS / 256));

    const text = await (await fetch(`${cluster.url}/v1/batches/${id}/results`)).text();
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { custom_id: string; outputs: { y: number[] } });
    expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: ROWS }, (_, i) => `w${i}`));
    const sample = [0, 1, 255, 256, 1234, ROWS - 1];
    const alone = await runAlone(modelPath, 'x', 'y', sample.map(row));
    sample.forEach((i, k) => {
      expect(lines[i]!.outputs.y).toHaveLength(WIDTH);
      lines[i]!.outputs.y.forEach((v, j) => expect(v).toBeCloseTo(alone[k]![j]!, 5));
    });
  });
});

describe('a request of wide outputs (JSON made in pieces)', () => {
  it('v2 infer and a waited job answer every row, the job read back is the same document', async () => {
    const n = 128; // 98,304 values: past PIECEWISE_VALUES
    const inputs = [{ name: 'x', datatype: 'FP32', shape: [n, WIDE_OUT_INPUTS], data: Array.from({ length: n }, (_, i) => row(i)).flat() }];
    const alone = await runAlone(modelPath, 'x', 'y', [row(0), row(n - 1)]);
    const check = (y: { shape: number[]; data: number[] }) => {
      expect(y.shape).toEqual([n, WIDTH]);
      y.data.slice(0, WIDTH).forEach((v, j) => expect(v).toBeCloseTo(alone[0]![j]!, 5));
      y.data.slice((n - 1) * WIDTH).forEach((v, j) => expect(v).toBeCloseTo(alone[1]![j]!, 5));
    };
    // identity: the length of the text as made (a compressed answer has none, http/compress.ts)
    const v2 = await fetch(`${cluster.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' }, body: JSON.stringify({ id: 'wide "1"', inputs }) });
    const v2Text = await v2.text();
    expect(v2.status).toBe(200);
    expect(Number(v2.headers.get('content-length'))).toBe(Buffer.byteLength(v2Text));
    const v2Doc = JSON.parse(v2Text);
    expect(v2Doc).toMatchObject({ id: 'wide "1"', model_name: 'wide' });
    check(v2Doc.outputs[0]);

    const job = await fetch(`${cluster.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=30' }, body: JSON.stringify({ model: 'wide', inputs }) });
    const jobText = await job.text();
    expect(job.status).toBe(200);
    const jobDoc = JSON.parse(jobText);
    expect(jobDoc.status).toBe('succeeded');
    check(jobDoc.outputs[0]);
    const again = await fetch(`${cluster.url}/v1/jobs/${jobDoc.id}`, { headers: { 'accept-encoding': 'identity' } });
    const etag = again.headers.get('etag');
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/); // express's own form, made from the pieces
    expect(Number(again.headers.get('content-length'))).toBe(Buffer.byteLength(jobText));
    expect(await again.text()).toBe(jobText);
    // A conditional GET of the copy the client holds: 304, no body; another ETag: the document.
    // (Cache-Control set: fetch adds `no-cache` to a conditional request otherwise, which asks for the body.)
    const current = await fetch(`${cluster.url}/v1/jobs/${jobDoc.id}`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(current.status).toBe(304);
    expect(await current.text()).toBe('');
    const stale = await fetch(`${cluster.url}/v1/jobs/${jobDoc.id}`, { headers: { 'if-none-match': 'W/"1-abc"', 'cache-control': 'max-age=0' } });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('etag')).toBe(etag);
    expect(await stale.text()).toBe(jobText);
    const head = await fetch(`${cluster.url}/v1/jobs/${jobDoc.id}`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
    expect(await head.text()).toBe('');
  });
});
