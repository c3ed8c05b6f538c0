/**
 * Corrupt or truncated compressed bodies: each is a 400 that names the fault, the API process
 * stays up, and nothing is left queued (a batch upload whose gzip breaks half-way withdraws
 * the chunks it had queued).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, queuedInferenceJobs, rows } from '../src/harness/index.js';

let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  // No worker: whatever a broken upload queued would stay in Redis for the checks below.
  cluster = await Cluster.start({ workers: 0 });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

async function post(path: string, body: Buffer, headers: Record<string, string>) {
  const res = await fetch(`${cluster.url}${path}`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as any };
}

const ndjson = (n: number) => Buffer.from(rows(5, n, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } })).join('\n') + '\n');

describe('corrupt compressed bodies', () => {
  it('a corrupt gzip batch upload is a 400, ten times in a row, and the API stays up', async () => {
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(4096, 0x5a)]);
    const notGzip = Buffer.from('{"custom_id":"a","inputs":{"input":[1]}}\n');
    for (let i = 0; i < 10; i++) {
      const r = await post('/v1/batches?model=mlp', i % 2 ? garbage : notGzip, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
      expect(r.status).toBe(400);
      expect(r.body.type).toBe('urn:maas:problem:malformed-body');
      expect(r.body.detail).toMatch(/gzip body is corrupt or truncated/);
    }
    expect(cluster.api.child.exitCode).toBeNull();
    expect((await call(cluster.url, 'GET', '/v2/health/live')).status).toBe(200);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('a gzip upload cut half-way withdraws the chunks it queued', async () => {
    const whole = gzipSync(ndjson(5000));
    const half = whole.subarray(0, Math.floor(whole.length * 0.6));
    const r = await post('/v1/batches?model=mlp', half, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/corrupt or truncated/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
    expect(await redis.keys('*batch*')).toEqual([]);
  });

  it('a corrupt gzip upload whose damage inflates to a line past BATCH_MAX_LINE_MB is a 400 (corrupt), not a 413; a sound one stays a 413', async () => {
    // 3 MB without a newline: past the 2 MB line limit before gzip's checksum, at the end, is read.
    const longLine = gzipSync(Buffer.alloc(3 << 20, 0x61));
    const broken = Buffer.from(longLine);
    broken[broken.length - 6] = broken[broken.length - 6]! ^ 0xff;
    const bad = await post('/v1/batches?model=mlp', broken, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body).toMatchObject({ type: 'urn:maas:problem:malformed-body', detail: expect.stringMatching(/gzip body is corrupt or truncated/) });
    const sound = await post('/v1/batches?model=mlp', longLine, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(sound.status).toBe(413);
    expect(sound.body.detail).toMatch(/line 1 is longer than/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('corrupt gzip, deflate or br on a JSON route is a 400, never a 500', async () => {
    const job = Buffer.from(JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32)[0] }] }));
    for (const [encoding, good] of [['gzip', gzipSync(job)], ['deflate', deflateSync(job)], ['br', brotliCompressSync(job)]] as const) {
      const broken = Buffer.from(good.subarray(0, good.length - 6));
      const at = Math.min(12, broken.length - 1);
      broken[at] = broken[at]! ^ 0xff;
      for (const path of ['/v1/jobs', '/v2/models/mlp/infer']) {
        const r = await post(path, broken, { 'content-type': 'application/json', 'content-encoding': encoding });
        expect(r.status, `${encoding} ${path}: ${JSON.stringify(r.body)}`).toBe(400);
      }
    }
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });
});

describe('gzip bombs', () => {
  it('sixteen at once, JSON and binary-framed, are 413s while the API holds a few bodies at a time (its peak memory stays under 700 MB)', async () => {
    const pid = cluster.api.child.pid!;
    const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    // 80 MB of JSON in 80 kB: past MAX_BODY_MB (64) once decompressed
    const json = gzipSync(Buffer.from(`{"model":"mlp","metadata":{"x":"${'a'.repeat(80 * 1024 * 1024)}"}}`), { level: 9 });
    const framed = gzipSync(Buffer.concat([Buffer.from('{"inputs":[]}'), Buffer.alloc(80 * 1024 * 1024)]), { level: 9 });
    const before = peakMb();
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2
      ? fetch(`${cluster.url}/v1/jobs`, { method: 'POST', body: json, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
      : fetch(`${cluster.url}/v2/models/mlp/infer`, { method: 'POST', body: framed, headers: { 'inference-header-content-length': '13', 'content-encoding': 'gzip' } })
    ).then(async (r) => ({ status: r.status, type: ((await r.json()) as { type: string }).type }))));
    expect(answers.every((a) => a.status === 413 && a.type === 'urn:maas:problem:payload-too-large'), JSON.stringify(answers)).toBe(true);
    // Without the gate the sixteen bodies were in memory at once: 1,161 MB here (121 MB before).
    expect(peakMb(), `peak ${peakMb()} MB, ${before} MB before`).toBeLessThan(700);
    // and a compressed body that is not a bomb is read as ever
    const job = gzipSync(Buffer.from(JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32)[0] }] })));
    const ok = await fetch(`${cluster.url}/v1/jobs`, { method: 'POST', body: job, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(ok.status).toBe(202);
  });
});

describe('compressed bodies arriving slowly', () => {
  it('senders still sending hold no decompression turn: a compressed request behind eight of them is answered at once', async () => {
    const u = new URL(cluster.url);
    const job = gzipSync(Buffer.from(JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(2, 1, 32)[0] }] })));
    // Eight connections that send the headers and 10 bytes of their gzip body, and then nothing
    const slow: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const socket = connect(Number(u.port), u.hostname);
      socket.on('error', () => {});
      socket.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${job.length}\r\n\r\n`);
      socket.write(job.subarray(0, 10));
      slow.push(socket);
    }
    try {
      await new Promise((r) => setTimeout(r, 200));
      const answered = await fetch(`${cluster.url}/v1/jobs`, { method: 'POST', body: job, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, signal: AbortSignal.timeout(5_000) });
      expect(answered.status).toBe(202);
    } finally {
      for (const s of slow) s.destroy();
    }
  });

  it('Expect: 100-continue: a body over MAX_BODY_MB by its Content-Length, or a batch upload refused from its headers, is refused with no 100 first; others get their 100', async () => {
    const u = new URL(cluster.url);
    const exchange = (length: number, path = '/v1/jobs', type = 'application/json') => new Promise<string>((resolve, reject) => {
      const socket = connect(Number(u.port), u.hostname);
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString();
        if (/\r\n\r\n/.test(got)) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`);
    });
    expect(await exchange(100_000_000)).toMatch(/^HTTP\/1\.1 413 /);
    expect(await exchange(100)).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    // A batch upload is asked for once its route reads it: what it refuses from the headers and query comes first.
    expect(await exchange(100_000_000, '/v1/batches?model=nope', 'application/x-ndjson')).toMatch(/^HTTP\/1\.1 404 /);
    expect(await exchange(100_000_000, '/v1/batches?model=mlp', 'image/png')).toMatch(/^HTTP\/1\.1 415 /);
    expect(await exchange(100_000_000, '/v1/batches?model=mlp', 'application/x-ndjson; charset=latin1')).toMatch(/^HTTP\/1\.1 415 /);
    expect(await exchange(100_000_000, '/v1/batches', 'application/x-ndjson')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange(100_000_000, '/v1/batches?model=mlp', 'application/x-ndjson')).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
  });
});
