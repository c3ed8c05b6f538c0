/**
 * Compressed answers (http/compress.ts): with `Accept-Encoding`, answers of 1 KB or more come
 * br-, gzip- or deflate-encoded, and decode to what the same request gets without it: batch
 * results (NDJSON), v2 infer in JSON and in the binary extension (what tritonclient's
 * `response_compression_algorithm` asks for), job objects, `/metrics`. `.npy` results and small
 * answers go as they are; COMPRESS_RESPONSES=false turns it off. Bytes are read off raw sockets
 * (node:http), which decode nothing.
 */
import { request } from 'node:http';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '@maas/client';
import { binaryBody, call, Cluster, eventually, post, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

let cluster: Cluster;
let plain: Cluster;

beforeAll(async () => {
  [cluster, plain] = await Promise.all([
    Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp' } }),
    Cluster.start({ workers: 0, api: { COMPRESS_RESPONSES: 'false' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), plain?.stop()]);
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** the bytes as they came */
  wire: Buffer;
  /** decoded as Content-Encoding says */
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        const decode = { gzip: gunzipSync, deflate: inflateSync, br: brotliDecompressSync }[String(res.headers['content-encoding'])];
        resolve({ status: res.statusCode ?? 0, headers: res.headers, wire, body: decode ? decode(wire) : wire });
      });
    }).on('error', reject).end();
  });
}

async function batchOf(lines: number): Promise<string> {
  const body = rows(5, lines, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n');
  const sub = await call(cluster.url, 'POST', '/v1/batches?model=mlp', body, { 'content-type': 'application/x-ndjson' });
  expect(sub.status).toBe(202);
  await eventually(() => call(cluster.url, 'GET', `/v1/batches/${sub.body.id}`), (r) => r.body.status === 'succeeded', { ms: 60_000, what: 'the batch to succeed' });
  return sub.body.id as string;
}

describe('compressed answers', () => {
  it('batch results: br, gzip and deflate each decode to the identity download, byte for byte, several times smaller', async () => {
    const id = await batchOf(3000);
    const url = `${cluster.url}/v1/batches/${id}/results`;
    const identity = await get(url);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers['vary']).toMatch(/Accept-Encoding/i); // a shared cache must not give it to a client that asks for br
    expect(identity.body.toString().trimEnd().split('\n')).toHaveLength(3000);
    for (const encoding of ['br', 'gzip', 'deflate']) {
      const got = await get(url, { 'accept-encoding': encoding });
      expect(got.status).toBe(200);
      expect(got.headers['content-encoding']).toBe(encoding);
      expect(got.headers['vary']).toMatch(/Accept-Encoding/i);
      expect(got.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(got.body.equals(identity.body)).toBe(true);
      expect(got.wire.length).toBeLessThan(identity.wire.length / 2.5);
    }
    // A browser's or fetch's list: br preferred; a client that refuses all encodings gets identity.
    expect((await get(url, { 'accept-encoding': 'gzip, deflate, br' })).headers['content-encoding']).toBe('br');
    expect((await get(url, { 'accept-encoding': 'gzip;q=1, br;q=0.5' })).headers['content-encoding']).toBe('gzip');
    expect((await get(url, { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
    // The .npy form is never encoded: float bytes.
    const npyBody = Buffer.from(encodeNpy(Float32Array.from(rows(6, 400, 32).flat()), [400, 32]));
    const npySub = await post(`${cluster.url}/v1/batches?model=mlp`, npyBody, { 'content-type': 'application/x-npy' });
    expect(npySub.status).toBe(202);
    await eventually(() => call(cluster.url, 'GET', `/v1/batches/${npySub.json.id}`), (r) => r.body.status === 'succeeded', { ms: 60_000, what: 'the .npy batch' });
    const npy = await get(`${cluster.url}/v1/batches/${npySub.json.id}/results`, { accept: 'application/x-npy', 'accept-encoding': 'gzip, br' });
    expect(npy.status).toBe(200);
    expect(npy.headers['content-encoding']).toBeUndefined();
    expect(npy.wire.length).toBeGreaterThan(400 * 2 * 4);
  });

  it('v2 infer in JSON and in the binary extension, and a job object, decode to the rows each would get alone', async () => {
    const data = rows(9, 300, 32);
    const alone = await runAlone(`${SHIPPED_MODELS}/mlp/1/model.onnx`, 'input', 'output', data);
    const json = await post(`${cluster.url}/v2/models/mlp/infer`, Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [300, 32], data: data.flat() }] })), { 'content-type': 'application/json', 'accept-encoding': 'gzip' });
    expect(json.status).toBe(200);
    expect(json.headers['content-encoding']).toBe('gzip');
    expect(json.headers['content-length']).toBeUndefined();
    expect(json.json.outputs[0].shape).toEqual([300, 2]);
    (json.json.outputs[0].data as number[]).forEach((v, i) => expect(v).toBeCloseTo(alone[Math.floor(i / 2)]![i % 2]!, 5));

    // tritonclient: binary outputs, response_compression_algorithm='gzip' (Accept-Encoding: gzip);
    // Inference-Header-Content-Length counts the JSON header before encoding.
    const { body, headerLength } = binaryBody({ parameters: { binary_data_output: true } }, [{ name: 'input', datatype: 'FP32', shape: [300, 32], values: data.flat() }]);
    const bin = await post(`${cluster.url}/v2/models/mlp/infer`, body, { 'inference-header-content-length': String(headerLength), 'accept-encoding': 'gzip' });
    expect(bin.status).toBe(200);
    expect(bin.headers['content-encoding']).toBe('gzip');
    expect(bin.headers['content-type']).toBe('application/octet-stream');
    expect(bin.wire.length).toBeLessThan(bin.body.length);
    expect(bin.json.outputs[0].parameters.binary_data_size).toBe(300 * 2 * 4);
    (bin.binary['output'] as number[]).forEach((v, i) => expect(v).toBeCloseTo(alone[Math.floor(i / 2)]![i % 2]!, 5));

    const job = await post(`${cluster.url}/v1/jobs`, Buffer.from(JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [300, 32], data: data.flat() }] })), { 'content-type': 'application/json', prefer: 'wait=30', 'accept-encoding': 'br' });
    expect(job.status).toBe(200);
    expect(job.headers['content-encoding']).toBe('br');
    const again = await get(`${cluster.url}/v1/jobs/${job.json.id}`, { 'accept-encoding': 'br' });
    expect(again.headers['content-encoding']).toBe('br');
    expect(JSON.parse(again.body.toString()).outputs).toEqual(job.json.outputs);
  });

  it('small answers go as they are; /metrics is compressed for a scraper that asks', async () => {
    const health = await get(`${cluster.url}/v2/health/live`, { 'accept-encoding': 'gzip' });
    expect(health.status).toBe(200);
    expect(health.headers['content-encoding']).toBeUndefined();
    const problem = await get(`${cluster.url}/v1/jobs/job_none`, { 'accept-encoding': 'gzip' });
    expect(problem.status).toBe(404);
    expect(problem.headers['content-encoding']).toBeUndefined();
    const metrics = await get(`${cluster.url}/metrics`, { 'accept-encoding': 'gzip' });
    expect(metrics.headers['content-encoding']).toBe('gzip');
    expect(metrics.body.toString()).toMatch(/^maas_http_request_seconds_bucket/m);
  });

  it('a client that leaves in the middle of a compressed download is let go; the API serves on', async () => {
    const id = await batchOf(20_000);
    await new Promise<void>((resolve, reject) => {
      const req = request(`${cluster.url}/v1/batches/${id}/results`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    // Read slowly: the answer still arrives whole, and no listener piles up on the encoder
    // (the unit test in http/compress.test.ts makes it wait for 'drain' for sure).
    const whole = await new Promise<Buffer>((resolve, reject) => {
      request(`${cluster.url}/v1/batches/${id}/results`, { headers: { 'accept-encoding': 'deflate' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          res.pause();
          setTimeout(() => res.resume(), 2);
        });
        res.on('end', () => resolve(inflateSync(Buffer.concat(chunks))));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    expect(whole.toString().trimEnd().split('\n')).toHaveLength(20_000);
    expect(cluster.api.log).not.toMatch(/MaxListenersExceeded/);
    expect((await call(cluster.url, 'GET', '/v2/health/live')).status).toBe(200);
  });

  it('COMPRESS_RESPONSES=false: nothing is encoded, whatever the client asks', async () => {
    const metrics = await get(`${plain.url}/metrics`, { 'accept-encoding': 'gzip, br' });
    expect(metrics.status).toBe(200);
    expect(metrics.wire.length).toBeGreaterThan(1024);
    expect(metrics.headers['content-encoding']).toBeUndefined();
    const openapi = await get(`${plain.url}/openapi.json`, { 'accept-encoding': 'gzip' });
    expect(openapi.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(openapi.body.toString()).openapi).toMatch(/^3\.1/);
  });
});

describe('compressed requests, codings stacked (RFC 9110 §8.4: listed in the order applied)', () => {
  it('br, gzip and gzip, gzip read as the plain body, a batch upload (streamed) and a v2 infer (read whole); four codings are a 415 naming the cap', async () => {
    const lines = Buffer.from(rows(8, 20, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n'));
    const upload = await fetch(`${cluster.url}/v1/batches?model=mlp`, {
      method: 'POST', body: gzipSync(brotliCompressSync(lines)), headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'br, gzip' },
    });
    expect(upload.status).toBe(202);
    const id = ((await upload.json()) as { id: string }).id;
    const done = await eventually(() => call(cluster.url, 'GET', `/v1/batches/${id}`), (r) => r.body.completed_at !== null, { ms: 30_000, what: 'the batch to end' });
    expect(done.body).toMatchObject({ status: 'succeeded', counts: { total: 20, succeeded: 20, failed: 0 } });

    const infer = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: rows(9, 2, 32).flat() }] }));
    const plainAnswer = await call(cluster.url, 'POST', '/v2/models/mlp/infer', JSON.parse(infer.toString()));
    expect(plainAnswer.status).toBe(200);
    const stacked = await fetch(`${cluster.url}/v2/models/mlp/infer`, {
      method: 'POST', body: gzipSync(gzipSync(infer)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip, gzip' },
    });
    expect(stacked.status).toBe(200);
    expect(((await stacked.json()) as { outputs: unknown }).outputs).toEqual(plainAnswer.body.outputs);

    for (const path of ['/v1/batches?model=mlp', '/v2/models/mlp/infer']) {
      const four = await fetch(`${cluster.url}${path}`, {
        method: 'POST', body: gzipSync(gzipSync(gzipSync(gzipSync(path.includes('batches') ? lines : infer)))),
        headers: { 'content-type': path.includes('batches') ? 'application/x-ndjson' : 'application/json', 'content-encoding': 'gzip, gzip, gzip, gzip' },
      });
      expect(four.status, path).toBe(415);
      expect(four.headers.get('accept-encoding'), path).toMatch(/^identity, gzip, .*deflate, br$/); // what is read (RFC 9110 §15.5.16)
      expect(((await four.json()) as { detail: string }).detail).toMatch(/stacks 4 codings; at most 3/);
      const compress = await fetch(`${cluster.url}${path}`, { method: 'POST', body: 'x', headers: { 'content-type': path.includes('batches') ? 'application/x-ndjson' : 'application/json', 'content-encoding': 'compress' } });
      expect(compress.status, path).toBe(415);
      expect(compress.headers.get('accept-encoding'), path).toMatch(/^identity, gzip, .*deflate, br$/);
    }
  });
});
