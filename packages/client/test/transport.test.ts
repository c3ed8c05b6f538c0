/**
 * The SDK over real HTTP against a small stub server (node:http): what a healthy cluster rarely
 * does on demand — 429/503 with Retry-After, answers that never come, a download that arrives
 * slowly — and proof that batch bodies and results are streamed, not buffered.
 * The SDK against the real cluster is tested in e2e/test/client.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ndjsonFile } from '../src/batches.js';
import { MaasClient } from '../src/client.js';
import { MaasConnectionError, MaasJobFailedError, MaasProtocolError, MaasTimeoutError, type MaasApiError } from '../src/errors.js';
import type { Job } from '../src/types.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

let server: Server;
let base: string;
let handler: Handler;
const seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
let tmp: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tmp = await mkdtemp(join(tmpdir(), 'maas-client-unit-'));
});
afterEach(() => {
  seen.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(tmp, { recursive: true, force: true });
});

const problem = (res: ServerResponse, status: number, extra: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/problem+json', ...extra }).end(JSON.stringify({ type: `urn:maas:problem:x${status}`, title: `T${status}`, status, detail: `d${status}` }));
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const job = (over: Partial<Job> = {}): Job => ({
  id: 'job_1', object: 'job', model: 'm', version: '1', status: 'succeeded', created_at: '2026-01-01T00:00:00Z', started_at: null,
  completed_at: null, outputs: [], error: null, metrics: null, metadata: null, ...over,
});

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('requests', () => {
  it('sends the key, JSON and Prefer/Idempotency headers; keeps a base path', async () => {
    handler = (_req, res) => json(res, 200, job());
    const maas = new MaasClient({ baseUrl: `${base}/prefix/`, apiKey: 'k1', retry: false });
    await maas.jobs.create({ model: 'm', inputs: [] }, { wait: 5, idempotencyKey: 'idem' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/prefix/v1/jobs' });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer k1', prefer: 'wait=5', 'idempotency-key': 'idem', 'content-type': 'application/json' });
    await maas.jobs.get('a/b', { wait: 3 });
    expect(seen[1]!.url).toBe('/prefix/v1/jobs/a%2Fb?wait=3');
  });

  it('generates an Idempotency-Key for creates only when retries are on', async () => {
    handler = (_req, res) => json(res, 202, job({ status: 'queued' }));
    await new MaasClient({ baseUrl: base }).jobs.create({ model: 'm', inputs: [] });
    await new MaasClient({ baseUrl: base, retry: false }).jobs.create({ model: 'm', inputs: [] });
    expect(seen[0]!.headers['idempotency-key']).toMatch(/^maas-client-[0-9a-f-]{36}$/);
    expect(seen[1]!.headers['idempotency-key']).toBeUndefined();
  });

  it('a non-JSON 2xx is a MaasProtocolError', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    expect(await thrown(new MaasClient({ baseUrl: base }).jobs.get('x'))).toBeInstanceOf(MaasProtocolError);
  });
});

describe('retries', () => {
  it('retries 429 and 503 after Retry-After, with the same idempotency key', async () => {
    let n = 0;
    handler = (_req, res) => (++n <= 2 ? problem(res, n === 1 ? 429 : 503, { 'retry-after': '0' }) : json(res, 202, job({ status: 'queued' })));
    const created = await new MaasClient({ baseUrl: base }).jobs.create({ model: 'm', inputs: [] });
    expect(created.status).toBe('queued');
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers['idempotency-key'])).size).toBe(1);
  });

  it('gives up after maxRetries, or at once when Retry-After exceeds maxDelayMs, with the error', async () => {
    handler = (_req, res) => problem(res, 429, { 'retry-after': '0' });
    const err = (await thrown(new MaasClient({ baseUrl: base, retry: { maxRetries: 1 } }).models.list())) as MaasApiError;
    expect(err).toMatchObject({ status: 429, retryAfter: 0, title: 'T429' });
    expect(seen).toHaveLength(2);
    seen.length = 0;
    handler = (_req, res) => problem(res, 503, { 'retry-after': '120' });
    expect(await thrown(new MaasClient({ baseUrl: base }).models.list())).toMatchObject({ status: 503, retryAfter: 120 });
    expect(seen).toHaveLength(1);
  });

  it('does not retry other errors, nor when disabled', async () => {
    handler = (_req, res) => problem(res, 400);
    await thrown(new MaasClient({ baseUrl: base }).models.list());
    handler = (_req, res) => problem(res, 503, { 'retry-after': '0' });
    await thrown(new MaasClient({ baseUrl: base, retry: false }).models.list());
    expect(seen).toHaveLength(2);
  });

  it('does not retry a batch streamed from an iterator (it cannot be replayed)', async () => {
    handler = async (req, res) => {
      for await (const _ of req);
      problem(res, 503, { 'retry-after': '0' });
    };
    function* lines() { yield { inputs: { a: [1] } }; }
    const err = await thrown(new MaasClient({ baseUrl: base }).batches.submit({ model: 'm', lines: lines() }));
    expect(err).toMatchObject({ status: 503 });
    expect(seen).toHaveLength(1);
  });

  it('retries a batch of an array of lines (read again from the start)', async () => {
    handler = async (req, res) => {
      for await (const _ of req);
      if (seen.length < 2) return problem(res, 503, { 'retry-after': '0' });
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'b1', object: 'batch', status: 'queued', counts: { total: 1, succeeded: 0, failed: 0 } }));
    };
    const batch = await new MaasClient({ baseUrl: base }).batches.submit({ model: 'm', lines: [{ inputs: { a: [1] } }] });
    expect(batch.id).toBe('b1');
    expect(seen).toHaveLength(2);
    // one generated key for both attempts: a retry after a lost answer gets the first batch, not a second
    expect(seen[0]!.headers['idempotency-key']).toMatch(/^maas-client-[0-9a-f-]{36}$/);
    expect(seen[1]!.headers['idempotency-key']).toBe(seen[0]!.headers['idempotency-key']);
  });
});

describe('failures without an answer', () => {
  it('a request timeout is a MaasTimeoutError', async () => {
    handler = () => undefined; // never answers
    const err = await thrown(new MaasClient({ baseUrl: base, timeoutMs: 200 }).models.list());
    expect(err).toBeInstanceOf(MaasTimeoutError);
    expect(err).toBeInstanceOf(MaasConnectionError);
  });

  it('a long-poll gets its wait on top of the timeout', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, job()), 400);
    const maas = new MaasClient({ baseUrl: base, timeoutMs: 200 });
    expect((await maas.jobs.get('job_1', { wait: 1 })).id).toBe('job_1');
  });

  it('the caller aborting rejects with its reason, not a connection error', async () => {
    handler = () => undefined;
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user stop')), 50);
    expect(await thrown(new MaasClient({ baseUrl: base }).models.list({ signal: ac.signal }))).toMatchObject({ message: 'user stop' });
  });
});

describe('jobs.wait and jobs.run', () => {
  it('long-polls until terminal', async () => {
    let n = 0;
    handler = (_req, res) => json(res, 200, job({ status: ++n < 3 ? 'running' : 'succeeded' }));
    const done = await new MaasClient({ baseUrl: base }).jobs.wait('job_1', { pollSeconds: 7 });
    expect(done.status).toBe('succeeded');
    expect(seen.map((s) => s.url)).toEqual(Array(3).fill('/v1/jobs/job_1?wait=7'));
  });

  it('run: one request when the job ends within Prefer: wait; MaasJobFailedError when it fails', async () => {
    handler = (_req, res) => json(res, 200, job({ status: 'failed', error: { type: 'inference-failed', message: 'boom' } }));
    const err = (await thrown(new MaasClient({ baseUrl: base }).jobs.run({ model: 'm', inputs: [] }))) as MaasJobFailedError;
    expect(err).toBeInstanceOf(MaasJobFailedError);
    expect(err.message).toBe('job job_1 failed: inference-failed: boom');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.prefer).toBe('wait=30');
  });
});

describe('batches: streamed both ways', () => {
  it('submit sends NDJSON as it is produced (the server reads lines before the source ends)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let body = '';
    let contentType: string | undefined;
    handler = async (req, res) => {
      contentType = req.headers['content-type'];
      for await (const chunk of req) {
        body += String(chunk);
        // The first line arrived while the source is still blocked on the gate: streamed.
        if (body.includes('\n')) release();
      }
      json(res, 202, { id: 'batch_1', object: 'batch', model: 'm', status: 'queued', counts: { total: 3, succeeded: 0, failed: 0 } });
    };
    async function* lines() {
      yield { custom_id: 'r1', inputs: { features: [5.1, 3.5, 1.4, 0.2] } };
      await gate;
      yield '{"custom_id":"r2","inputs":{"features":[1,2,3,4]}}';
      yield { custom_id: 'r3', inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32' as const, data: [1, 2, 3, 4] }] };
    }
    const batch = await new MaasClient({ baseUrl: base }).batches.submit({ model: 'm', version: 2, webhook: 'http://h/x', lines: lines() });
    expect(batch.id).toBe('batch_1');
    expect(contentType).toBe('application/x-ndjson');
    expect(seen[0]!.url).toBe('/v1/batches?model=m&version=2&webhook=http%3A%2F%2Fh%2Fx');
    expect(seen[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(body.split('\n').map((l) => (l ? JSON.parse(l).custom_id : l))).toEqual(['r1', 'r2', 'r3', '']);
  });

  it('an error answered before the upload is read is reported, and the rest of the file is not sent', async () => {
    const file = join(tmp, 'big.ndjson');
    await writeFile(file, `${JSON.stringify({ inputs: { features: [1, 2, 3, 4] } })}\n`.repeat(200_000));
    let received = 0;
    handler = (req, res) => {
      req.on('data', (c: Buffer) => (received += c.length));
      problem(res, 404);
    };
    const err = await thrown(new MaasClient({ baseUrl: base }).batches.submit({ model: 'nope', lines: ndjsonFile(file) }));
    expect(err).toMatchObject({ status: 404, title: 'T404', detail: 'd404' });
    expect(received).toBeLessThan((await stat(file)).size);
  });

  it('an upload to nothing listening is a MaasConnectionError', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await thrown(new MaasClient({ baseUrl: `http://127.0.0.1:${port}` }).batches.submit({ model: 'm', lines: [{ inputs: {} }] }));
    expect(err).toBeInstanceOf(MaasConnectionError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('results yields lines as they arrive, not when the download ends', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"custom_id":"a","outputs":{"y":[1]}}\n{"custom_id":"b",');
      await gate;
      res.end('"error":{"type":"invalid-input","message":"m"}}\n');
    };
    const it = new MaasClient({ baseUrl: base }).batches.results('batch_1');
    expect((await it.next()).value).toEqual({ custom_id: 'a', outputs: { y: [1] } });
    finish();
    expect((await it.next()).value).toEqual({ custom_id: 'b', error: { type: 'invalid-input', message: 'm' } });
    expect((await it.next()).done).toBe(true);
  });

  it('results of an unfinished batch: the 409 is thrown by the first iteration', async () => {
    handler = (_req, res) => problem(res, 409);
    expect(await thrown(new MaasClient({ baseUrl: base }).batches.results('b').next())).toMatchObject({ status: 409 });
  });

  it('downloadResults writes the file only when complete', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end('{"custom_id":"a"}\n{"custom_id":"b"}');
    const out = join(tmp, 'ok.ndjson');
    expect(await new MaasClient({ baseUrl: base }).batches.downloadResults('b', out)).toEqual({ path: out, bytes: 35, lines: 2 });
    expect(await readFile(out, 'utf8')).toBe('{"custom_id":"a"}\n{"custom_id":"b"}');

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"custom_id":"a"}\n');
      setTimeout(() => res.destroy(), 50); // the connection drops mid-download
    };
    const broken = join(tmp, 'broken.ndjson');
    expect(await thrown(new MaasClient({ baseUrl: base }).batches.downloadResults('b', broken))).toBeInstanceOf(Error);
    expect((await readdir(tmp)).filter((f) => f.startsWith('broken'))).toEqual([]);
  });

  it('wait polls until terminal, reporting each poll', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      json(res, 200, { id: 'b', object: 'batch', model: 'm', status: n < 3 ? 'running' : 'succeeded', counts: { total: 10, succeeded: n * 3, failed: 0 } });
    };
    const progress: number[] = [];
    const done = await new MaasClient({ baseUrl: base }).batches.wait('b', { intervalMs: 50, onProgress: (b) => progress.push(b.counts.succeeded) });
    expect(done.status).toBe('succeeded');
    expect(progress).toEqual([3, 6, 9]);
  });
});
