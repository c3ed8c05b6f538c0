/**
 * @maas/client against a real cluster (private redis-server, API and worker processes,
 * shipped models), through its package name as a user would import it, and the `maas` CLI as
 * a child process.
 *
 * The worker starts serving penguins and fixed only: mlp jobs stay queued until the test that
 * needs them served starts an mlp worker, so cancel and wait-timeouts are deterministic.
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeNpy, MaasApiError, MaasClient, MaasConnectionError, MaasJobFailedError, MaasWaitTimeoutError, ndjsonFile, verifyWebhook,
  type BatchLine, type BatchResult, type Tensor,
} from '@maas/client';
import { freePort } from '@maas/shared';
import { Cluster, eventually, REPO_ROOT, rows, WebhookReceiver } from '../src/harness/index.js';

const KEY = 'key-a';
const CLI = join(REPO_ROOT, 'packages/client/bin/maas.js');
const PENGUINS: number[][] = [[39.1, 18.7, 181, 3750], [46.5, 14.5, 213, 4400]]; // Adelie, Gentoo

let cluster: Cluster;
let maas: MaasClient;
let tmp: string;
let mlpServed = false;

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 1,
    api: { API_KEYS: `alpha:${KEY}`, WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'penguins,fixed', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  maas = new MaasClient({ baseUrl: cluster.url, apiKey: KEY });
  tmp = await mkdtemp(join(tmpdir(), 'maas-client-'));
});
afterAll(async () => {
  await cluster?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function serveMlp(): Promise<void> {
  if (mlpServed) return;
  await cluster.startWorker({ WORKER_MODELS: 'mlp' });
  mlpServed = true;
}

const features = (data: number[][]): Tensor => ({ name: 'features', datatype: 'FP32', shape: [data.length, 4], data });
const mlpInput = (seed: number, n = 1): Tensor => ({ name: 'input', datatype: 'FP32', shape: [n, 32], data: rows(seed, n, 32) });

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('SDK: health and models', () => {
  it('health.ready / live', async () => {
    expect(await maas.health.live()).toBe(true);
    expect((await maas.health.ready()).ready).toBe(true);
  });

  it('models.list, models.get and models.ready', async () => {
    const list = await maas.models.list();
    expect(list.map((m) => m.name).sort()).toEqual(['fixed', 'mlp', 'penguins']);
    const penguins = list.find((m) => m.name === 'penguins')!;
    expect(penguins).toMatchObject({ versions: ['2', '1'], ready: true, workers: 1, labels: ['Adelie', 'Chinstrap', 'Gentoo'] });
    expect(penguins.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    expect(list.find((m) => m.name === 'mlp')!.ready).toBe(false);

    const meta = await maas.models.get('penguins');
    expect(meta).toMatchObject({ name: 'penguins', versions: ['2', '1'], platform: 'onnxruntime_onnx' });
    expect(meta.outputs.map((o) => o.name)).toEqual(['probabilities', 'label']);
    // The Open Inference Protocol's parameters are scalars (no arrays, no null).
    expect(meta.parameters).toEqual({ max_batch_size: 256, max_queue_delay_ms: expect.any(Number) });
    expect((await maas.models.get('penguins', { version: 1 })).versions).toEqual(['1']);
    expect(await maas.models.ready('penguins')).toBe(true);
    expect(await maas.models.ready('mlp')).toBe(false);
    const missing = await thrown(maas.models.get('nope'));
    expect(missing).toBeInstanceOf(MaasApiError);
    expect((missing as MaasApiError).status).toBe(404);
  });
});

describe('SDK: batches', () => {
  it('submit from an iterable (compact, tensor and bad lines), wait with progress, results in input order', async () => {
    function* lines(): Generator<BatchLine | string> {
      for (let i = 0; i < 300; i++) yield { custom_id: `c${i}`, inputs: { features: PENGUINS[i % 2]! } };
      yield { custom_id: 't0', inputs: [features(PENGUINS)] };
      yield '{"custom_id":"bad","inputs":{"nope":[1]}}';
    }
    const batch = await maas.batches.submit({ model: 'penguins', lines: lines() });
    expect(batch).toMatchObject({ object: 'batch', model: 'penguins', counts: { total: 302 } });
    const seen: number[] = [];
    const done = await maas.batches.wait(batch.id, { intervalMs: 100, onProgress: (b) => seen.push(b.counts.succeeded + b.counts.failed) });
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 302, succeeded: 301, failed: 1 } });
    expect(seen.at(-1)).toBe(302);

    const results: BatchResult[] = [];
    for await (const r of maas.batches.results(batch.id)) results.push(r);
    expect(results.map((r) => r.custom_id)).toEqual([...Array.from({ length: 300 }, (_, i) => `c${i}`), 't0', 'bad']);
    expect(results[0]!.outputs).toMatchObject({ label: [0] });
    expect(results[1]!.outputs).toMatchObject({ label: [2] });
    expect(results[300]!.outputs).toContainEqual({ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
    expect(results[301]!.error).toBeTruthy();

    // Leaving the loop early closes the download.
    let n = 0;
    for await (const _ of maas.batches.results(batch.id)) if (++n === 5) break;
    expect(n).toBe(5);

    const out = join(tmp, 'results.ndjson');
    const written = await maas.batches.downloadResults(batch.id, out);
    expect(written.lines).toBe(302);
    const text = await readFile(out, 'utf8');
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l).custom_id)).toEqual(results.map((r) => r.custom_id));
    // An array cannot hold the failed line: .npy is refused (406), and no file is left.
    const npyOut = join(tmp, 'refused.npy');
    expect(await maas.batches.downloadResults(batch.id, npyOut, { format: 'npy', output: 'label' }).catch((e: unknown) => e)).toMatchObject({ status: 406 });
    expect(await readFile(npyOut).catch(() => 'absent')).toBe('absent');

    // Only the lines that failed: the SDK and the CLI.
    const failed: BatchResult[] = [];
    for await (const r of maas.batches.results(batch.id, { failedOnly: true })) failed.push(r);
    expect(failed).toEqual([results[301]]);
    const cliFailed = await cli(['batch', 'results', batch.id, '--failed']);
    expect(cliFailed.code, cliFailed.stderr).toBe(0);
    expect(cliFailed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([results[301]]);
  });

  it('submit a file with ndjsonFile (streamed from disk, upload progress reported)', async () => {
    const file = join(tmp, 'rows.ndjson');
    const data = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ custom_id: `p${i}`, inputs: { features: PENGUINS[i % 2] } }));
    await writeFile(file, data.join('\n') + '\n');
    const uploaded: number[] = [];
    const batch = await maas.batches.submit({ model: 'penguins', version: 1, lines: ndjsonFile(file), onUploadProgress: (p) => uploaded.push(p.bytes) });
    expect(batch).toMatchObject({ version: '1', counts: { total: 5000 } });
    expect(uploaded.at(-1)).toBe(Buffer.byteLength(data.join('\n') + '\n'));
    const done = await maas.batches.wait(batch.id, { intervalMs: 100 });
    expect(done.counts).toEqual({ total: 5000, succeeded: 5000, failed: 0 });
    // A byte stream of the file (as createReadStream or process.stdin give it) is the same NDJSON:
    // each 64 KB chunk was sent as a line of its own (an audit: 501 failed lines, every row lost).
    const streamed = await maas.batches.submit({ model: 'penguins', version: 1, lines: createReadStream(file) });
    expect(streamed.counts).toMatchObject({ total: 5000, failed: 0 }); // its rows may have run before the answer (a chunk runs while the upload goes on)
    expect((await maas.batches.wait(streamed.id, { intervalMs: 100 })).counts).toEqual({ total: 5000, succeeded: 5000, failed: 0 });

    // A download stopped after its first piece keeps it (`.partial`), and the same call made
    // again asks the API only for the rest: the file is what one whole download writes.
    const whole = join(tmp, 'whole.ndjson');
    const wrote = await maas.batches.downloadResults(batch.id, whole);
    const kept = join(tmp, 'kept.ndjson');
    const stop = new AbortController();
    const ranges: (string | null)[] = [];
    const cutting = (async (input: string | URL | Request, init?: RequestInit) => {
      ranges.push(new Headers(init?.headers).get('range'));
      const res = await fetch(input, init);
      if (ranges.length > 1) return res;
      const reader = res.body!.getReader();
      const head = await reader.read();
      await reader.cancel();
      let given = false;
      // Its first piece, then the user stops the download.
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (given) return void (stop.abort(new Error('stopped by the user')), c.error(new Error('stopped by the user')));
          given = true;
          c.enqueue(head.value!);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    }) as typeof fetch;
    const cut = new MaasClient({ baseUrl: cluster.url, apiKey: KEY, fetch: cutting });
    expect(await cut.batches.downloadResults(batch.id, kept, { signal: stop.signal }).catch((e: unknown) => (e as Error).message)).toBe('stopped by the user');
    const partBytes = (await stat(`${kept}.partial`)).size;
    expect(partBytes).toBeGreaterThan(0);
    expect(partBytes).toBeLessThan(wrote.bytes);
    expect(await cut.batches.downloadResults(batch.id, kept)).toEqual({ ...wrote, path: kept });
    expect(ranges).toEqual([null, `bytes=${partBytes}-`]);
    expect((await readFile(kept)).equals(await readFile(whole))).toBe(true);
    expect(await stat(`${kept}.partial.json`).catch(() => 'gone')).toBe('gone');
  });

  it('results of an unfinished batch are a 409; wait times out; cancel', async () => {
    // Nobody serves mlp yet: the batch stays queued.
    const batch = await maas.batches.submit({ model: 'mlp', lines: [{ custom_id: 'q', inputs: { input: rows(9, 1, 32)[0]! } }] });
    const early = await thrown(maas.batches.results(batch.id).next());
    expect(early).toBeInstanceOf(MaasApiError);
    expect(early).toMatchObject({ status: 409 });
    expect(await thrown(maas.batches.wait(batch.id, { timeoutMs: 300, intervalMs: 100 }))).toBeInstanceOf(MaasWaitTimeoutError);
    // wait long-polls: the cancel is heard as it happens, not at the next of 30 s polls.
    const waiting = maas.batches.wait(batch.id, { intervalMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const canceled = await maas.batches.cancel(batch.id);
    expect(canceled).toMatchObject({ id: batch.id, status: 'canceled' });
    expect((await waiting).status).toBe('canceled');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('list pages through the tenant\'s batches, newest first; each walks them all', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await maas.batches.submit({ model: 'penguins', lines: [{ custom_id: `l${i}`, inputs: { features: [39.1, 18.7, 181, 3750] } }] })).id);
    const page = await maas.batches.list({ limit: 2 });
    expect(page).toMatchObject({ object: 'list', has_more: true });
    expect(page.data.map((b) => b.id)).toEqual([made[2], made[1]]);
    const next = await maas.batches.list({ limit: 2, after: page.last_id! });
    expect(next.data[0]!.id).toBe(made[0]);
    const all: string[] = [];
    for await (const b of maas.batches.each({ limit: 2 })) all.push(b.id);
    expect(all.slice(0, 3)).toEqual([made[2], made[1], made[0]]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('an unknown model is refused (404); a source that throws is reported as itself', async () => {
    expect(await thrown(maas.batches.submit({ model: 'nope', lines: [{ inputs: { features: [1, 2, 3, 4] } }] }))).toMatchObject({ status: 404 });
    function* broken(): Generator<BatchLine> {
      yield { inputs: { features: PENGUINS[0]! } };
      throw new Error('source broke');
    }
    expect(await thrown(maas.batches.submit({ model: 'penguins', lines: broken() }))).toMatchObject({ message: 'source broke' });
  });
});

describe('SDK: jobs', () => {
  it('run: penguins with classification and labels', async () => {
    const job = await maas.jobs.run({
      model: 'penguins',
      inputs: [features(PENGUINS)],
      outputs: [{ name: 'probabilities', parameters: { classification: 1 } }, { name: 'label' }],
      metadata: { from: 'client.test' },
    });
    expect(job).toMatchObject({ object: 'job', model: 'penguins', version: '2', status: 'succeeded', metadata: { from: 'client.test' } });
    const [cls, label] = job.outputs;
    expect(cls!.data[0]).toMatch(/:0:Adelie$/);
    expect(cls!.data[1]).toMatch(/:2:Gentoo$/);
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
    expect(job.metrics!.batch_size).toBeGreaterThanOrEqual(2);
  });

  it('run: the fixed-shape model with two inputs of two datatypes', async () => {
    const job = await maas.jobs.run({
      model: 'fixed',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 3], data: [0.5, -1.25, 3, 10, -0.125, 7.75] },
        { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 2, -3, 4, 1000, -7] },
      ],
    });
    expect(job.outputs[0]).toEqual({ name: 'sum', datatype: 'FP32', shape: [2, 3], data: [1.5, 0.75, 0, 14, 999.875, 0.75] });
  });

  it('create, get (long-poll) and wait', async () => {
    const created = await maas.jobs.create({ model: 'penguins', inputs: [features([PENGUINS[0]!])] });
    expect(created.object).toBe('job');
    expect(['queued', 'running', 'succeeded']).toContain(created.status);
    const got = await maas.jobs.get(created.id, { wait: 10 });
    expect(got).toMatchObject({ id: created.id, status: 'succeeded' });
    expect(await maas.jobs.wait(created.id)).toEqual(got);
    const waited = await maas.jobs.create({ model: 'penguins', inputs: [features([PENGUINS[1]!])] }, { wait: 10 });
    expect(waited.status).toBe('succeeded');
  });

  it('an Idempotency-Key returns the same job; reused with another body it is a 409', async () => {
    const req = { model: 'penguins', inputs: [features([PENGUINS[0]!])] };
    const a = await maas.jobs.create(req, { idempotencyKey: 'client-test-key' });
    const b = await maas.jobs.create(req, { idempotencyKey: 'client-test-key' });
    expect(b.id).toBe(a.id);
    const err = await thrown(maas.jobs.create({ ...req, metadata: { other: true } }, { idempotencyKey: 'client-test-key' }));
    expect(err).toMatchObject({ status: 409, type: 'urn:maas:problem:idempotency-conflict' });
  });

  it('wait times out on a job nobody serves; cancel; run throws MaasJobFailedError for a job that cannot succeed', async () => {
    const queued = await maas.jobs.create({ model: 'mlp', inputs: [mlpInput(1)] });
    const late = await thrown(maas.jobs.wait(queued.id, { timeoutMs: 1500, pollSeconds: 1 }));
    expect(late).toBeInstanceOf(MaasWaitTimeoutError);
    expect((late as MaasWaitTimeoutError<{ status: string }>).last.status).toBe('queued');
    // run's message says the caller's timeout (it said what was left after the create: "after 0 ms").
    const runLate = await thrown(maas.jobs.run({ model: 'mlp', inputs: [mlpInput(3)] }, { timeoutMs: 1500, pollSeconds: 1 }));
    expect(runLate).toBeInstanceOf(MaasWaitTimeoutError);
    expect((runLate as Error).message).toMatch(/still queued after 1500 ms/);

    const canceled = await maas.jobs.cancel(queued.id);
    expect(canceled).toMatchObject({ id: queued.id, status: 'canceled' });
    expect((await maas.jobs.wait(queued.id)).status).toBe('canceled');

    // Expires before any worker can take it; `run` keeps waiting until the worker appears.
    const expiring = maas.jobs.run({ model: 'mlp', inputs: [mlpInput(2)], timeout_ms: 1 }, { timeoutMs: 90_000 });
    const failed = thrown(expiring);
    await serveMlp();
    const err = (await failed) as MaasJobFailedError;
    expect(err).toBeInstanceOf(MaasJobFailedError);
    expect(err.job).toMatchObject({ status: 'failed', error: { type: 'expired' } });
    expect(err.message).toMatch(/failed: expired/);

    const ok = await maas.jobs.run({ model: 'mlp', inputs: [mlpInput(3, 3)] });
    expect(ok.outputs[0]!.shape).toEqual([3, 2]);
  });
});

describe('SDK: KServe v2 infer', () => {
  it('infers, with an explicit version and requested outputs, and names the serving job', async () => {
    const res = await maas.infer('penguins', [features(PENGUINS)], { outputs: ['label'], id: 'req-1' });
    expect(res).toMatchObject({ model_name: 'penguins', model_version: '2', id: 'req-1' });
    expect(res.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] }]);
    expect(res.job_id).toMatch(/^job_/);
    expect((await maas.jobs.get(res.job_id!)).status).toBe('succeeded');
    const v1 = await maas.infer('penguins', [features(PENGUINS)], { version: 1 });
    expect(v1.model_version).toBe('1');
  });
});

describe('SDK: errors', () => {
  it('a 400 is a MaasApiError with status, type, detail and per-input errors', async () => {
    const err = await thrown(maas.jobs.create({ model: 'penguins', inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }));
    expect(err).toBeInstanceOf(MaasApiError);
    const e = err as MaasApiError;
    expect(e).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input', title: 'Invalid input', code: 'invalid-input' });
    expect(e.detail).toMatch(/nope/);
    expect(e.errors?.[0]?.path).toMatch(/^inputs\[0\]/);
    expect(e.problem.status).toBe(400);
    const infer = await thrown(maas.infer('penguins', [{ name: 'features', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }]));
    expect(infer).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
  });

  it('a 404 for an unknown job', async () => {
    expect(await thrown(maas.jobs.get('job_doesnotexist'))).toMatchObject({ status: 404, type: 'urn:maas:problem:not-found' });
  });

  it('a 401 with a wrong key or none; health needs no key', async () => {
    const wrong = new MaasClient({ baseUrl: cluster.url, apiKey: 'wrong' });
    const err = await thrown(wrong.models.list());
    expect(err).toBeInstanceOf(MaasApiError);
    expect(err).toMatchObject({ status: 401, type: 'urn:maas:problem:unauthorized' });
    const none = new MaasClient({ baseUrl: cluster.url });
    expect(await thrown(none.jobs.get('job_x'))).toMatchObject({ status: 401 });
    expect((await none.health.ready()).ready).toBe(true);
  });

  it('nothing listening is a MaasConnectionError', async () => {
    const nowhere = new MaasClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    const err = await thrown(nowhere.models.list());
    expect(err).toBeInstanceOf(MaasConnectionError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('SDK: webhooks', () => {
  it('verifyWebhook accepts a real delivery signed by the cluster, and rejects it altered', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const secret = await maas.webhookSecret();
      expect(secret).toMatch(/^whsec_/);
      const job = await maas.jobs.run({ model: 'penguins', inputs: [features([PENGUINS[0]!])], webhook: receiver.url, webhook_events_filter: ['completed'] });
      const [delivery] = await receiver.until((r) => r.length >= 1);
      const event = verifyWebhook(secret, delivery!.body, delivery!.headers);
      expect(event).toMatchObject({ type: 'job.completed', data: { id: job.id, status: 'succeeded' } });
      expect(() => verifyWebhook(secret, delivery!.body.replace('succeeded', 'failed'), delivery!.headers)).toThrow(/no webhook-signature/);
    } finally {
      await receiver.close();
    }
  });

  it('rotateWebhookSecret: deliveries carry both signatures, and either secret (or both given at once) verifies them', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const before = await maas.webhookSecrets();
      const rotated = await maas.rotateWebhookSecret();
      expect(rotated).toMatchObject({ source: 'generated', overlap_seconds: 86_400 });
      expect(rotated.secret).not.toBe(before.secret);
      expect(rotated.previous.map((p) => p.secret)).toContain(before.secret);
      expect((await maas.webhookSecrets()).secret).toBe(rotated.secret);
      const job = await maas.jobs.run({ model: 'penguins', inputs: [features([PENGUINS[1]!])], webhook: receiver.url, webhook_events_filter: ['completed'] });
      const [delivery] = await receiver.until((r) => r.length >= 1);
      expect(String(delivery!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      for (const secret of [rotated.secret, before.secret, [before.secret, rotated.secret], `${rotated.secret} ${before.secret}`]) {
        expect(verifyWebhook(secret, delivery!.body, delivery!.headers)).toMatchObject({ data: { id: job.id } });
      }
    } finally {
      await receiver.close();
    }
  });
});

describe('SDK: an API killed and started again mid-wait', () => {
  it('jobs.wait and jobs.run carry on (the connection closed mid-answer is tried again), and run queues its job once', async () => {
    const own = await Cluster.start({ workers: 0, api: { API_KEYS: `alpha:${KEY}` } });
    try {
      const client = new MaasClient({ baseUrl: own.url, apiKey: KEY });
      const port = new URL(own.url).port;
      const queued = await client.jobs.create({ model: 'penguins', inputs: [features([PENGUINS[0]!])] }); // no worker: it stays queued
      const waiting = client.jobs.wait(queued.id, { timeoutMs: 60_000 });
      // run's create waits too (Prefer: wait): the crash cuts it before its answer
      const running = client.jobs.run({ model: 'penguins', inputs: [features([PENGUINS[1]!])] }, { timeoutMs: 60_000 });
      const redis = own.redisClient();
      try {
        await eventually(() => redis.keys('maas:job:*'), (keys) => keys.length === 2, { ms: 10_000, what: 'both jobs queued' });
        await new Promise((r) => setTimeout(r, 300)); // both requests held by the API
        expect(await own.api.stop('SIGKILL')).toBeNull();
        await new Promise((r) => setTimeout(r, 1000));
        await own.startApi({ PORT: port });
        await own.startWorker({ WORKER_MODELS: 'penguins' });
        const [waited, ran] = await Promise.all([waiting, running]);
        expect(waited).toMatchObject({ id: queued.id, status: 'succeeded' });
        expect(ran.status).toBe('succeeded');
        expect((await redis.keys('maas:job:*')).sort()).toEqual([`maas:job:${queued.id}`, `maas:job:${ran.id}`].sort()); // the create sent again found its job
      } finally {
        redis.disconnect();
      }
    } finally {
      await own.stop();
    }
  });
});

const execFileP = promisify(execFile);

/** Runs `maas ARGS` as a child process, as a user would. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], {
      env: { ...process.env, MAAS_URL: cluster.url, MAAS_API_KEY: KEY, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `maas ARGS` with `input` on its stdin. */
async function cliWithInput(args: string[], input: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MAAS_URL: cluster.url, MAAS_API_KEY: KEY } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

describe('CLI (child process)', () => {
  it('models: a table', async () => {
    const r = await cli(['models']);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^MODEL\s+VERSIONS\s+INPUTS\s+OUTPUTS\s+MAX BATCH\s+READY\s+WORKERS$/);
    expect(lines.find((l) => l.startsWith('penguins'))).toMatch(/^penguins\s+2,1\s+features FP32\[-1,4\]\s+probabilities FP32\[-1,3\], label INT64\[-1\]\s+256\s+yes\s+\d+$/);
  });

  it('jobs create / get print the job as JSON', async () => {
    const created = await cli(['jobs', 'create', '--model', 'penguins', '--input', 'features=[46.5,14.5,213,4400]', '--wait', '10']);
    expect(created.code, created.stderr).toBe(0);
    const job = JSON.parse(created.stdout);
    expect(job).toMatchObject({ object: 'job', status: 'succeeded' });
    expect(job.outputs.find((o: any) => o.name === 'label').data).toEqual([2]);

    const got = await cli(['jobs', 'get', job.id, '--wait', '5']);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual(job);

    const request = join(tmp, 'request.json');
    await writeFile(request, JSON.stringify({ inputs: [features(PENGUINS)], outputs: [{ name: 'label' }] }));
    const fromFile = await cli(['jobs', 'create', '--model', 'penguins', '--data', request, '--wait', '10']);
    expect(JSON.parse(fromFile.stdout).outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] }]);
  });

  it('infer prints the v2 response', async () => {
    const r = await cli(['infer', 'penguins', '--input', 'features=[39.1,18.7,181,3750]', '--output', 'label', '--output', 'probabilities:1']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ model_name: 'penguins', model_version: '2' });
    expect(res.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [1], data: [0] });
    expect(res.outputs[1].data[0]).toMatch(/:0:Adelie$/);
  });

  it('batch submit streams a file, prints the id, and downloads the results; batch get / results', async () => {
    const file = join(tmp, 'cli-rows.ndjson');
    await writeFile(file, Array.from({ length: 1000 }, (_, i) => JSON.stringify({ custom_id: `x${i}`, inputs: { features: PENGUINS[i % 2] } })).join('\n') + '\n');
    const out = join(tmp, 'cli-results.ndjson');
    const r = await cli(['batch', 'submit', file, '--model', 'penguins', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^batch_/);
    expect(r.stderr).toMatch(new RegExp(`batch ${id} succeeded in \\d+\\S*: 1,000 lines succeeded, 0 failed`));
    expect(r.stderr).toContain(`wrote 1,000 result lines`);
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: 1000 }, (_, i) => `x${i}`));
    expect(lines[1].outputs.label).toEqual([2]);

    const got = await cli(['batch', 'get', id]);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, status: 'succeeded', counts: { total: 1000, succeeded: 1000, failed: 0 } });
    const results = await cli(['batch', 'results', id]);
    expect(results.stdout).toBe(await readFile(out, 'utf8'));

    const noWait = await cli(['batch', 'submit', file, '--model', 'penguins', '--no-wait']);
    expect(noWait.code, noWait.stderr).toBe(0);
    expect(noWait.stdout.trim()).toMatch(/^batch_/);

    const listed = await cli(['batch', 'list', '--limit', '1']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ object: 'list', data: [{ id: noWait.stdout.trim() }], has_more: true });
    expect((await cli(['batch', 'list', '--limit', '0'])).code).toBe(2);
  });

  it('batch submit - reads NDJSON from stdin; gzip (a file, stdin, a FIFO) is sent compressed; a file named *.NPY is an array; --out is checked before the upload', async () => {
    const text = Array.from({ length: 200 }, (_, i) => JSON.stringify({ custom_id: `s${i}`, inputs: { features: PENGUINS[i % 2] } })).join('\n') + '\n';
    const out = join(tmp, 'cli-stdin-results.ndjson');
    const piped = await cliWithInput(['batch', 'submit', '-', '--model', 'penguins', '--out', out], Buffer.from(text));
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toContain('wrote 200 result lines');
    expect((await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l).custom_id)).toEqual(Array.from({ length: 200 }, (_, i) => `s${i}`));

    // A gzip file goes as it is, with Content-Encoding: gzip (as NDJSON bytes it was a 415); so
    // does gzip on stdin, and a FIFO is read as stdin is (it was "not a file").
    const gz = join(tmp, 'cli-rows.ndjson.gz');
    await writeFile(gz, gzipSync(text));
    const zipped = await cli(['batch', 'submit', gz, '--model', 'penguins', '--out', join(tmp, 'gz.ndjson')]);
    expect(zipped.code, zipped.stderr).toBe(0);
    expect(zipped.stderr).toMatch(/200 lines succeeded, 0 failed/);
    expect(await readFile(join(tmp, 'gz.ndjson'), 'utf8')).toBe(await readFile(out, 'utf8'));
    const zippedStdin = await cliWithInput(['batch', 'submit', '-', '--model', 'penguins', '--out', join(tmp, 'gz-stdin.ndjson')], gzipSync(text));
    expect(zippedStdin.code, zippedStdin.stderr).toBe(0);
    expect(await readFile(join(tmp, 'gz-stdin.ndjson'), 'utf8')).toBe(await readFile(out, 'utf8'));
    const fifo = join(tmp, 'cli-fifo');
    await execFileP('mkfifo', [fifo]);
    createWriteStream(fifo).end(gzipSync(text));
    const fromFifo = await cli(['batch', 'submit', fifo, '--model', 'penguins', '--out', join(tmp, 'fifo.ndjson')]);
    expect(fromFifo.code, fromFifo.stderr).toBe(0);
    expect(await readFile(join(tmp, 'fifo.ndjson'), 'utf8')).toBe(await readFile(out, 'utf8'));

    const upper = join(tmp, 'ROWS.NPY');
    await writeFile(upper, encodeNpy(Float32Array.from(Array.from({ length: 5 }, (_, i) => PENGUINS[i % 2]!).flat()), [5, 4]));
    const npy = await cli(['batch', 'submit', upper, '--model', 'penguins', '--out', join(tmp, 'upper.ndjson')]);
    expect(npy.code, npy.stderr).toBe(0);
    expect(npy.stderr).toMatch(/5 lines succeeded, 0 failed/);

    for (const [args, message] of [
      [['--out', join(tmp, 'no-such-dir', 'x.ndjson')], /no such directory/],
      [['--out', tmp], /is a directory/],
      [['--out', out, '--no-wait'], /--out needs the batch to end/],
    ] as const) {
      const refused = await cli(['batch', 'submit', upper, '--model', 'penguins', ...args]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(message);
      expect(refused.stdout).toBe(''); // refused before anything was uploaded
    }
  });

  it('batch submit of a .npy file: row i is result line i', async () => {
    const file = join(tmp, 'cli-rows.npy');
    await writeFile(file, encodeNpy(Float32Array.from(Array.from({ length: 300 }, (_, i) => PENGUINS[i % 2]!).flat()), [300, 4]));
    const out = join(tmp, 'cli-npy-results.ndjson');
    const r = await cli(['batch', 'submit', file, '--model', 'penguins', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('wrote 300 result lines');
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    expect(lines[1].outputs.label).toEqual([2]);

    // The same results as one output's array: the SDK and the CLI, row i for line i.
    const id = /batch (batch_\S+):/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    const labels = (bytes: Buffer) => {
      expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
      const start = 10 + bytes.readUInt16LE(8);
      expect(bytes.subarray(10, start).toString('latin1')).toMatch(/'descr': '<i8'.*'shape': \(300,\)/);
      return Array.from(new BigInt64Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length)), Number);
    };
    const expected = lines.map((l) => l.outputs.label[0] as number);
    const sdkNpy = join(tmp, 'labels.npy');
    const written = await maas.batches.downloadResults(id!, sdkNpy, { format: 'npy', output: 'label' });
    expect(written).toMatchObject({ path: sdkNpy, lines: 0 });
    expect(labels(await readFile(sdkNpy))).toEqual(expected);
    const cliNpy = join(tmp, 'cli-labels.npy');
    const c = await cli(['batch', 'results', id!, '--npy', '--output', 'label', '--out', cliNpy]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/^wrote .* of \.npy to /);
    expect(labels(await readFile(cliNpy))).toEqual(expected);
    // penguins has two outputs: none named is the API's 406, told with the CLI's flag.
    const unnamed = await cli(['batch', 'results', id!, '--npy', '--out', join(tmp, 'unnamed.npy')]);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(/name one of the outputs .*label.* with --output NAME for \.npy results/);
  });

  it('errors: the problem on stderr and exit 1; usage errors exit 2', async () => {
    const missing = await cli(['jobs', 'get', 'job_doesnotexist']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe("error: Not found: job 'job_doesnotexist' not found\n");

    const bad = await cli(['infer', 'penguins', '--input', 'features=[1,2,3]']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: Invalid input: inputs\[0\]\.shape: shape \[1, 3\] does not match \[-1, 4\]/);

    const unauthorized = await cli(['models'], { MAAS_API_KEY: 'wrong' });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toMatch(/^error: Unauthorized: .*\nhint: the key given \(--api-key or MAAS_API_KEY\) is not one this server knows/);
    const keyless = await cli(['models'], { MAAS_API_KEY: '' });
    expect(keyless.stderr).toMatch(/^error: Unauthorized: .*\nhint: pass --api-key/);

    const url = `http://127.0.0.1:${await freePort()}`;
    const refused = await cli(['models', '--url', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: cannot reach ${url}: is the API running? (npm start)\n`);

    const usage = await cli(['jobs', 'get']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing argument[\s\S]*maas jobs get --help/);
    const noFile = await cli(['batch', 'submit', join(tmp, 'absent.ndjson'), '--model', 'penguins']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read .*absent\.ndjson: no such file/);
  });
});
