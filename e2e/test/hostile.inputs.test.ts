/**
 * Hostile input is a 4xx, answered quickly, with nothing queued (issue 13): JSON nested 10,000
 * deep, a gzip bomb of newlines, bodiless POSTs, FP32 values past its range, batch uploads that
 * would fill a queue or bring too much; and Redis refusing writes (out of memory, read-only) or
 * gone is a 503 + Retry-After the API recovers from by itself.
 */
import http from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, eventually, queuedInferenceJobs, rows, storedBatches } from '../src/harness/index.js';

let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  // No worker: whatever got queued stays visible in its queue.
  cluster = await Cluster.start({ workers: 0 });
  redis = cluster.redisClient();
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const row = rows(3, 1, 32)[0]!;
const job = (data: string, extra = '') => `{"model":"mlp","inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${data}}]${extra}}`;
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

async function post(path: string, body: string | Buffer | undefined, headers: Record<string, string>) {
  const started = Date.now();
  const res = await fetch(cluster.url + path, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any, ms: Date.now() - started };
}
const JSON_TYPE = { 'content-type': 'application/json' };
const NDJSON = { 'content-type': 'application/x-ndjson' };

/** A POST with neither Content-Length nor Transfer-Encoding: what `curl -X POST` sends (fetch always adds a length). */
function bodiless(path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const u = new URL(cluster.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile JSON', () => {
  it('arrays nested 10,000 deep anywhere in a JSON body are a 400, never a stack overflow', async () => {
    const bodies: [string, string][] = [
      ['/v1/jobs', job(deep(10_000))],
      ['/v1/jobs', job(JSON.stringify(row), `,"metadata":{"a":${deep(10_000)}}`)],
      ['/v1/jobs', deep(10_000)],
      ['/v2/models/mlp/infer', `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":[1],"parameters":{"p":${deep(10_000)}}}]}`],
      ['/v2/models/mlp/infer', `{"id":${deep(10_000)},"inputs":[]}`],
      // over 64 kB: read by the route itself (http/tensor-json.ts), not the app-wide parser
      ['/v2/models/mlp/infer', `{"id":"${'p'.repeat(70_000)}","inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${deep(10_000)}}]}`],
    ];
    for (const [path, body] of bodies) {
      const r = await post(path, body, JSON_TYPE);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.detail).toMatch(/nests deeper than 64 levels/);
    }
    // the binary extension's JSON header, also read by the route
    const header = `{"inputs":[],"parameters":{"p":${deep(10_000)}}}`;
    const framed = await post('/v2/models/mlp/infer', header, { 'inference-header-content-length': String(Buffer.byteLength(header)) });
    expect(framed.status).toBe(400);
    expect(framed.body.detail).toMatch(/nests deeper than 64 levels/);
    expect(cluster.api.log).not.toMatch(/Maximum call stack/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('31 million brackets (62 MB, 60 KB gzipped) are refused at the 65th, before anything parses them: a 400 in seconds, not the event loop held for half a minute', async () => {
    const inflated = `{"model":"mlp","x":${deep(15_500_000)}}`;
    const zipped = gzipSync(inflated, { level: 9 });
    expect(zipped.length).toBeLessThan(200_000);
    for (const [path, headers] of [['/v1/jobs', JSON_TYPE], ['/v2/models/mlp/infer', {}], ['/v2/repository/index', JSON_TYPE]] as const) {
      const r = await post(path, zipped, { ...headers, 'content-encoding': 'gzip' });
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.detail).toMatch(/nests deeper than 64 levels/);
      expect(r.ms).toBeLessThan(10_000); // the parse it no longer reaches took 29 s here
    }
    // uncompressed, 8 MB of brackets on the app-wide parser's path and a batch line's
    const plain = await post('/v1/jobs', `{"model":"mlp","x":${deep(4_000_000)}}`, JSON_TYPE);
    expect(plain.body.detail).toMatch(/nests deeper than 64 levels/);
    const line = await post('/v1/batches?model=mlp', `{"custom_id":"deep","inputs":{"input":${deep(1_000_000)}}}\n`, NDJSON);
    expect(line.body).toMatchObject({ counts: { total: 1, failed: 1 } });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${line.body.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(results).toEqual([{ custom_id: 'deep', error: { type: 'invalid-input', message: 'line 1: the JSON nests deeper than 64 levels' } }]);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it("20 million '{}' or '[]' (61 KB gzipped) are refused at the 1,048,577th, before JSON.parse is handed them: a 400, not 18 s and 2.9 GB, on every path a JSON body takes", async () => {
    const flood = (item: string, n: number) => new Array(n).fill(item).join(',');
    const tooMany = /holds more than 1048576 arrays and objects/;
    const big = 20_000_000;
    const cases: [string, string, Record<string, string>][] = [
      // FP32 data the byte reader reads, outputs it would hand JSON.parse
      ['/v2/models/mlp/infer', job(JSON.stringify(row), `,"outputs":[${flood('{}', big)}]`).replace('"model":"mlp",', ''), {}],
      // an Idempotency-Key: the app-wide parser's path
      ['/v1/jobs', job(JSON.stringify(row), `,"metadata":{"a":[${flood('[]', big)}]}`), { ...JSON_TYPE, 'idempotency-key': 'flood-1' }],
      // another datatype's nested data, on the repository route, with no Content-Type
      ['/v2/models/mlp/infer', `{"inputs":[{"name":"input","datatype":"INT64","shape":[${big},1],"data":[${flood('[1]', big / 4)}]}]}`, {}],
      ['/v2/repository/index', `{"x":[${flood('{}', big)}]}`, JSON_TYPE],
    ];
    for (const [path, inflated, headers] of cases) {
      const zipped = gzipSync(inflated, { level: 9 });
      expect(zipped.length).toBeLessThan(200_000);
      const r = await post(path, zipped, { ...headers, 'content-encoding': 'gzip' });
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.detail).toMatch(tooMany);
      expect(r.ms).toBeLessThan(10_000);
    }
    // uncompressed on the app-wide parser's path, and a binary header (a batch line's 2 MB, BATCH_MAX_LINE_MB, holds fewer: line.test.ts)
    const plain = await post('/v1/jobs', job(JSON.stringify(row), `,"metadata":{"a":[${flood('{}', 1_100_000)}]}`), JSON_TYPE);
    expect(plain.body.detail).toMatch(tooMany);
    const header = `{"inputs":[],"parameters":{"p":[${flood('{}', 1_100_000)}]}}`;
    const framed = await post('/v2/models/mlp/infer', header, { 'inference-header-content-length': String(Buffer.byteLength(header)) });
    expect(framed.status).toBe(400);
    expect(framed.body.detail).toMatch(tooMany);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('a request of a million bad elements is a short 400 (the first 100 problems and a count), and a shape of 130,000 dimensions a 400, not a 500', async () => {
    const many = await post('/v2/models/mlp/infer', `{"inputs":[${Array(1_000_000).fill('null').join(',')}]}`, JSON_TYPE);
    expect(many.status).toBe(400);
    expect(JSON.stringify(many.body).length).toBeLessThan(20_000);
    const outputs = await post('/v1/jobs', job(JSON.stringify(row), `,"outputs":[${Array(300_000).fill('{"name":"nope","parameters":{"classification":0}}').join(',')}]`), JSON_TYPE);
    expect(outputs.status).toBe(400);
    expect(outputs.body.detail).toMatch(/outputs: Too big: expected array to have <=4096 items/);
    const shape = await post('/v2/models/mlp/infer', `{"inputs":[{"name":"input","datatype":"FP32","shape":[${Array(130_000).fill('-1').join(',')}],"data":[1]}]}`, JSON_TYPE);
    expect(shape.status, JSON.stringify(shape.body).slice(0, 300)).toBe(400);
    expect(shape.body.errors.length).toBeLessThanOrEqual(100);
    expect(cluster.api.log).not.toMatch(/Maximum call stack|unhandled error/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('a JSON body that is not UTF-8 is a 400 on every reading (small, large, the binary extension\'s header), not read with U+FFFD in its place', async () => {
    const bad = (pad = 0) => Buffer.concat([Buffer.from(`{"model":"mlp","id":"`), Buffer.from([0xff, 0xfe]), Buffer.from(`","metadata":{"pad":"${' '.repeat(pad)}"}}`)]);
    for (const [path, body, headers] of [
      ['/v1/jobs', bad(), JSON_TYPE], ['/v2/models/mlp/infer', bad(), {}], ['/v2/models/mlp/infer', bad(70_000), {}], ['/v2/repository/index', bad(), JSON_TYPE],
    ] as const) {
      const r = await post(path, body, headers);
      expect(r.status, `${path} ${body.length}`).toBe(400);
      expect(r.body).toMatchObject({ type: 'urn:maas:problem:malformed-json', detail: 'request body is not valid JSON: it is not UTF-8 text (RFC 8259 §8.1)' });
    }
    const header = Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3]), Buffer.from('","inputs":[]}')]);
    const framed = await post('/v2/models/mlp/infer', header, { 'inference-header-content-length': String(header.length) });
    expect(framed.status).toBe(400);
    expect(framed.body.detail).toMatch(/are not UTF-8 text, as a JSON header must be/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('a batch line nested 10,000 deep fails that line only (compact and tensor forms; also in a field no check reads)', async () => {
    const body = [
      `{"custom_id":"c","inputs":{"input":${deep(10_000)}}}`,
      `{"custom_id":"t","inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${deep(10_000)}}]}`,
      `{"custom_id":"x","inputs":{"input":${JSON.stringify(row)}},"x":${deep(100)}}`,
      `{"custom_id":"p","inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${JSON.stringify(row)},"parameters":{"p":${deep(65)}}}]}`,
    ].join('\n');
    const r = await post('/v1/batches?model=mlp', body, NDJSON);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    // every line failed its checks, each alone: the batch still ends succeeded (CONTRACT §4)
    expect(r.body).toMatchObject({ status: 'succeeded', counts: { total: 4, succeeded: 0, failed: 4 } });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${r.body.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(results.find((l) => l.custom_id === 'p').error.message).toMatch(/nests deeper than 64 levels/);
    expect(results.find((l) => l.custom_id === 'x').error.message).toMatch(/unknown key "x"/); // a line takes no other key
    expect(cluster.api.log).not.toMatch(/Maximum call stack/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('FP32 values past ±3.4e38 are a 400 in jobs and v2 infer, and fail their line in batches', async () => {
    const data = JSON.stringify(row).replace(/^\[[^,]+/, '[1e39');
    for (const path of ['/v1/jobs', '/v2/models/mlp/infer']) {
      const r = await post(path, path === '/v1/jobs' ? job(data) : `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${data}}]}`, JSON_TYPE);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.detail).toMatch(/data\[0\] = 1e\+39 is out of the FP32 range/);
    }
    const lines = [`{"custom_id":"fast","inputs":{"input":${data}}}`, `{"custom_id":"tensor","inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${data.replace('1e39', '-4e38')}}]}`];
    const b = await post('/v1/batches?model=mlp', lines.join('\n'), NDJSON);
    expect(b.body).toMatchObject({ counts: { total: 2, failed: 2 } });
    const results = (await (await fetch(`${cluster.url}/v1/batches/${b.body.id}/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    for (const line of results) expect(line.error.message).toMatch(/out of the FP32 range/);
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });
});

describe('bodies', () => {
  it('a 2 MB gzip bomb of newlines (2 GiB inflated) is a 413 within seconds, nothing queued', async () => {
    // Concatenated gzip members (RFC 1952 allows them): 2,048 copies of 1 MiB of '\n'.
    const member = gzipSync(Buffer.alloc(1 << 20, 0x0a), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 2048 }, () => member));
    expect(bomb.length).toBeLessThan(3 << 20);
    const r = await post('/v1/batches?model=mlp', bomb, { ...NDJSON, 'content-encoding': 'gzip' });
    expect(r.status, JSON.stringify(r.body)).toBe(413);
    expect(r.body.detail).toMatch(/at most 10000000 lines \(blank lines count\)/);
    expect(r.ms).toBeLessThan(10_000);
    expect(cluster.api.child.exitCode).toBeNull();
    expect(await queuedInferenceJobs(redis)).toBe(0);
    expect(await redis.zcard('maas:uploads')).toBe(0); // no upload left in progress
  });

  it('a truncated br or deflate batch upload is a 400, and the API stays up', async () => {
    const body = Buffer.from(`{"inputs":{"input":${JSON.stringify(row)}}}\n`.repeat(50));
    for (const [encoding, packed] of [['br', brotliCompressSync(body)], ['deflate', deflateSync(body)]] as const) {
      for (const type of ['application/x-ndjson', 'application/x-npy']) {
        const r = await post('/v1/batches?model=mlp', packed.subarray(0, packed.length >> 1), { 'content-type': type, 'content-encoding': encoding });
        expect(r.status, `${encoding} ${type}: ${JSON.stringify(r.body)}`).toBe(400);
      }
    }
    expect(cluster.api.child.exitCode).toBeNull();
    expect(await queuedInferenceJobs(redis)).toBe(0);
  });

  it('a body whose Content-Length is over MAX_BODY_MB is a 413, though the client never sends it (JSON, no type, binary-framed)', async () => {
    const u = new URL(cluster.url);
    // Before, the parsers waited for the body until the idle timeout.
    const lying = (path: string, headers: Record<string, string>) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path, method: 'POST', headers: { ...headers, 'content-length': String(100_000_000) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write('{"model":"mlp","inputs":['); // and nothing more: the client keeps the connection open
    });
    // At once for a client that waits for a 100; else after a few seconds of waiting for the body (drainBody)
    const answers = await Promise.all(([['/v1/jobs', JSON_TYPE], ['/v2/models/mlp/infer', {}], ['/v2/models/mlp/infer', { 'inference-header-content-length': '10' }]] as const)
      .map(([path, headers]) => lying(path, headers)));
    for (const r of answers) {
      expect(r.status).toBe(413);
      expect(r.body.detail).toBe('request body exceeds 67108864 bytes (MAX_BODY_MB)');
    }
  });

  it('a query name with brackets (qs-style arrays) is a 400 that says what to send, not a parameter ignored', async () => {
    const before = await storedBatches(redis);
    const upload = await post('/v1/batches?model=mlp&webhook[]=http://hooks.example/x', '{"inputs":{"input":[1]}}\n', NDJSON);
    expect(upload.status).toBe(400);
    expect(upload.body.errors).toEqual([{ path: 'query.webhook[]', message: 'query parameters are name=value pairs; brackets are not read (send webhook=…, not webhook[]=…)' }]);
    const poll = await fetch(`${cluster.url}/v1/jobs/job_x?wait%5B%5D=1`);
    expect(poll.status).toBe(400);
    expect(await storedBatches(redis)).toEqual(before);
  });

  it('a POST without any body is a 400 that says so, not a 415 naming the type it sent', async () => {
    for (const [path, headers] of [
      ['/v1/jobs', JSON_TYPE], ['/v1/jobs', {}], ['/v2/models/mlp/infer', JSON_TYPE], ['/v1/batches?model=mlp', NDJSON], ['/v1/batches?model=mlp', {}],
    ] as const) {
      const r = await bodiless(path, headers);
      expect(r.status, `${path} ${JSON.stringify(headers)}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.detail).toMatch(/the request has no body/);
    }
  });

  it('a JSON body without Content-Type is read as JSON (CONTRACT §4), another type is a 415', async () => {
    const u = new URL(cluster.url);
    const body = job(JSON.stringify(row).replace(/^\[[^,]+/, '[1e39'));
    const untyped = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: '/v1/jobs', method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(untyped.status).toBe(400); // read and checked as JSON: the value is out of range
    expect(untyped.body.detail).toMatch(/FP32 range/);
    expect((await post('/v1/jobs', body, { 'content-type': 'text/csv' })).status).toBe(415);
  });
});

describe('Redis refusing writes or gone → 503 + Retry-After, then recovery without a restart', () => {
  const good = job(JSON.stringify(row));
  const expect503 = async (why: RegExp) => {
    for (const [path, body, headers] of [['/v1/jobs', good, JSON_TYPE], ['/v1/batches?model=mlp', `{"inputs":{"input":${JSON.stringify(row)}}}`, NDJSON]] as const) {
      const r = await post(path, body, headers);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body).toMatchObject({ type: 'urn:maas:problem:redis-unavailable' });
      expect(r.body.detail).toMatch(why);
    }
  };
  const recovers = () => eventually(() => post('/v1/jobs', good, JSON_TYPE), (r) => r.status === 202, { ms: 15_000, what: 'a 202 once Redis is back' });

  it('out of memory (maxmemory reached under noeviction); what is stored still reads', async () => {
    // A batch whose every line fails its checks ends at once, with results (no worker needed).
    const done = await post('/v1/batches?model=mlp', '{"custom_id":"bad","inputs":{"input":[1]}}\n', NDJSON);
    expect(done.body.status).toBe('succeeded');
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      await expect503(/out of memory/);
      // Reads go on: a batch's status, the list, the results (they were 503s: a MULTI of reads is refused out of memory).
      for (const path of [`/v1/batches/${done.body.id}`, '/v1/batches?limit=2', `/v1/batches/${done.body.id}/results`, `/v1/batches/${done.body.id}/results?failed=true`]) {
        const r = await fetch(cluster.url + path);
        expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
        if (path.endsWith('results')) expect(await r.text()).toMatch(/"custom_id":"bad"/);
      }
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    await recovers();
  });

  it('read-only (it became a replica, as in a failover)', async () => {
    await redis.replicaof('127.0.0.1', '1'); // a master that is not there: the data stays, writes are refused
    try {
      await expect503(/read-only/);
    } finally {
      await redis.replicaof('NO', 'ONE');
    }
    await recovers();
  });

  it('gone (killed), then back on the same port', async () => {
    redis.disconnect(); // the test's own client, before its server goes
    await cluster.redis.kill();
    try {
      await expect503(/unreachable/);
      // the queue board's JSON too: a 503 problem, not bull-board's 500 with ioredis's message
      const board = await fetch(`${cluster.url}/admin/queues/api/queues`);
      expect(board.status).toBe(503);
      expect(board.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(board.headers.get('retry-after')).toBe('1');
      expect(await board.json()).toMatchObject({ type: 'urn:maas:problem:redis-unavailable' });
    } finally {
      await cluster.redis.restart();
    }
    redis = cluster.redisClient();
    await recovers();
    expect(cluster.api.log).not.toMatch(/unhandled error/);
  });
});

describe('what one batch upload may enqueue', () => {
  const lines = (n: number) => rows(9, n, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r.map((v) => Math.round(v * 10) / 10) } })).join('\n');

  beforeAll(async () => {
    await cluster.api.stop('SIGTERM');
    await cluster.startApi({ MAX_QUEUE_DEPTH: '1', BATCH_MAX_MB: '4' });
    await redis.flushall();
  });

  it('an upload that would take the queue past MAX_QUEUE_DEPTH is a 429 + Retry-After, its chunks withdrawn', async () => {
    const r = await post('/v1/batches?model=mlp', lines(9000), NDJSON); // two chunks (8,192 rows of mlp make one)
    expect(r.status, JSON.stringify(r.body)).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.body.type).toBe('urn:maas:problem:queue-full');
    expect(await queuedInferenceJobs(redis)).toBe(0);
    expect(await storedBatches(redis)).toEqual([]);
  });

  it('an upload larger than BATCH_MAX_MB once decompressed is a 413, nothing left queued', async () => {
    // 5 MB of lines that queue nothing (each fails alone), so only the size is in the way.
    const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => JSON.stringify({ custom_id: `${i}`.padStart(1000, 'x'), inputs: {} })).join('\n'));
    for (const [body, headers] of [[big, NDJSON], [gzipSync(big), { ...NDJSON, 'content-encoding': 'gzip' }]] as const) {
      const r = await post('/v1/batches?model=mlp', body, headers);
      expect(r.status, JSON.stringify(r.body)).toBe(413);
      expect(r.body.detail).toMatch(/body exceeds 4194304 bytes/);
    }
    expect(await queuedInferenceJobs(redis)).toBe(0);
    expect(await storedBatches(redis)).toEqual([]);
  });
  it('no upload starts while the queue is full', async () => {
    expect((await post('/v1/jobs', job(JSON.stringify(row)), JSON_TYPE)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1100)); // the depth is read at most once a second
    const r = await post('/v1/batches?model=mlp', lines(1), NDJSON);
    expect(r.status, JSON.stringify(r.body)).toBe(429);
    expect(await queuedInferenceJobs(redis)).toBe(1);
    await redis.flushall();
  });

});
