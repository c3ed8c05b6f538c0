/**
 * Fair shares on a shared model (issue 14): tenant A's flood (a batch file of many chunks and
 * hundreds of async jobs) does not starve tenant B's interactive jobs or B's own batch; the
 * worker draws from the tenants in turn (apps/api/src/fairness/lanes.ts).
 *
 * Everything is queued while no worker serves the model, then one worker starts: the order in
 * which it finishes the jobs is what is checked (ordinal, from the worker's own completion
 * stamps), never how long they took. Latencies are printed, not asserted. A and B talk to two
 * different API instances: the lanes live in Redis, shared by both.
 *
 * The `fixed` model cannot batch, so each batch-file line is its own chunk (one BullMQ job)
 * and each job runs alone: a 300-line file is a 300-chunk flood without megabytes of input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually } from '../src/harness/index.js';

const KEYS = { alpha: 'key-alpha', beta: 'key-beta' };
const A_JOBS = 300;
const A_LINES = 300;
const B_JOBS = 20;
const B_LINES = 3;

let cluster: Cluster;
let apiA = '';
let apiB = '';

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 0,
    api: { API_KEYS: Object.entries(KEYS).map(([t, k]) => `${t}:${k}`).join(',') }, // FAIR_SHARE=auto: on with two tenants
  });
  apiA = cluster.url;
  await cluster.startApi(); // a second API instance, for B
  apiB = cluster.url;
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

/** A tenant's calls to one API instance (its URL is known once the cluster started). */
function as(base: () => string, key: string) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(base(), method, path, body, { authorization: `Bearer ${key}`, ...headers });
}
const A = as(() => apiA, KEYS.alpha);
const B = as(() => apiB, KEYS.beta);

const inputs = (k: number) => [
  { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
  { name: 'y', datatype: 'INT32', shape: [2, 3], data: [k, k, k, k, k, k] },
];
const job = (k: number) => ({ model: 'fixed', inputs: inputs(k) });
const ndjson = (n: number, tag: string) => Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `${tag}${i}`, inputs: inputs(i) })).join('\n');

type Api = ReturnType<typeof as>;
interface Job { id: string; status: string; created_at: string; started_at: string | null; completed_at: string | null }

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

async function postJobs(api: Api, n: number): Promise<string[]> {
  return pool(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
    const r = await api('POST', '/v1/jobs', job(i));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.id as string;
  });
}

async function postBatch(api: Api, lines: number, tag: string): Promise<string> {
  const r = await api('POST', '/v1/batches?model=fixed', ndjson(lines, tag), { 'content-type': 'application/x-ndjson' });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id as string;
}

async function finishedJobs(api: Api, ids: string[]): Promise<Job[]> {
  return pool(ids, 16, async (id) => {
    const r = await api('GET', `/v1/jobs/${id}?wait=60`);
    expect(r.body.status).toBe('succeeded');
    return r.body as Job;
  });
}

async function finishedBatch(api: Api, id: string) {
  return eventually(async () => (await api('GET', `/v1/batches/${id}`)).body, (b) => Boolean(b.completed_at), {
    ms: 120_000, every: 100, what: `batch ${id} to complete`, context: () => cluster.logs(),
  });
}

const at = (iso: string | null) => Date.parse(iso ?? '');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('fair shares between tenants on a shared model', () => {
  let alone: { median: number; max: number; batchMs: number };

  it('B alone: its jobs and its small batch, queued before the worker starts (the figures to compare with)', async () => {
    const ids = await postJobs(B, B_JOBS);
    const batch = await postBatch(B, B_LINES, 'b');
    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    const jobs = await finishedJobs(B, ids);
    const done = await finishedBatch(B, batch);
    // As under the flood below: from the moment the worker took its first job.
    const firstStart = Math.min(...jobs.map((j) => at(j.started_at)));
    const sinceStart = jobs.map((j) => at(j.completed_at) - firstStart);
    expect(done.status).toBe('succeeded');
    alone = { median: median(sinceStart), max: Math.max(...sinceStart), batchMs: at(done.completed_at) - firstStart };
    console.log(`[fairness] B alone: ${B_JOBS} jobs done ${alone.median} ms (median) / ${alone.max} ms (last) after the worker took its first job; ${B_LINES}-line batch ${alone.batchMs} ms`);
    await cluster.stopWorker(worker);
  }, 120_000);

  it('under A\'s flood, B\'s jobs and B\'s batch run while most of A\'s work still waits', async () => {
    // A floods first (its batch file, then its async jobs), through its own API instance…
    const aBatch = await postBatch(A, A_LINES, 'a');
    const aJobs = await postJobs(A, A_JOBS);
    // …then B queues interactive jobs and a small batch through the other one.
    const bJobs = await postJobs(B, B_JOBS);
    const bBatch = await postBatch(B, B_LINES, 'b');

    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    // The moment B's batch is done, how far A's is (read at once: it moves on meanwhile).
    const bBatchDone = await eventually(async () => (await B('GET', `/v1/batches/${bBatch}`)).body, (b) => Boolean(b.completed_at), {
      ms: 120_000, every: 10, what: 'B\'s batch to complete', context: () => cluster.logs(),
    });
    const aBatchThen = (await A('GET', `/v1/batches/${aBatch}`)).body;
    const aBatchDone = await finishedBatch(A, aBatch);
    const [aDone, bDone] = [await finishedJobs(A, aJobs), await finishedJobs(B, bJobs)];

    // Order from the worker's completion stamps.
    const lastB = Math.max(...bDone.map((j) => at(j.completed_at)));
    const aBeforeLastB = aDone.filter((j) => at(j.completed_at) <= lastB).length;
    const firstStart = Math.min(...[...aDone, ...bDone].map((j) => at(j.started_at)));
    const bSinceStart = bDone.map((j) => at(j.completed_at) - firstStart);
    const aSinceStart = aDone.map((j) => at(j.completed_at) - firstStart);
    console.log(
      `[fairness] under A's flood (${A_JOBS} jobs + ${A_LINES}-chunk batch queued first): ` +
      `${aBeforeLastB} of A's ${A_JOBS} jobs finished before B's last job; ` +
      `B's jobs done ${median(bSinceStart)} ms (median) / ${Math.max(...bSinceStart)} ms (last) after the worker took its first job, ` +
      `A's ${median(aSinceStart)} / ${Math.max(...aSinceStart)} ms; ` +
      `B's batch done with A's batch at ${aBatchThen.counts.succeeded}/${A_LINES} lines, ` +
      `${at(bBatchDone.completed_at) - firstStart} ms vs A's ${at(aBatchDone.completed_at) - firstStart} ms after the first start ` +
      `(B alone: jobs ${alone.median} / ${alone.max} ms, batch ${alone.batchMs} ms)`,
    );

    // B's interactive jobs took turns with A's: first come, first served would have run all of A's first.
    expect(aBeforeLastB).toBeLessThan(A_JOBS / 2);
    // Every chunk yields to interactive jobs: when B's jobs were done, none of A's chunks was
    // (a batch's started_at is when its first chunk was recorded).
    expect(at(aBatchDone.started_at)).toBeGreaterThanOrEqual(lastB);
    // B's batch took turns with A's chunks: done while most of A's were still unfinished.
    expect(aBatchThen.counts.succeeded).toBeLessThan(A_LINES / 2);
    expect(at(bBatchDone.completed_at)).toBeLessThan(at(aBatchDone.completed_at));
    expect(aBatchDone.counts).toEqual({ total: A_LINES, succeeded: A_LINES, failed: 0 });
    await cluster.stopWorker(worker);
  }, 300_000);

  it('turns never outrank an explicit priority: a more urgent job runs first, a less urgent one last', async () => {
    const aJobs = await postJobs(A, 10); // A's turns 0..9 in the default band
    const post = async (api: Api, priority: number) => (await api('POST', '/v1/jobs', { ...job(1), priority })).body.id as string;
    const bJobs = await postJobs(B, 3); // B's turns interleave with A's
    const late = await post(B, 101); // just less urgent than the default band
    const urgent = await post(A, 99); // A's turn is far ahead, yet it is more urgent than every default job
    const worker = await cluster.startWorker({ WORKER_MODELS: 'fixed' });
    const [u] = await finishedJobs(A, [urgent]);
    const [l] = await finishedJobs(B, [late]);
    const rest = [...(await finishedJobs(A, aJobs)), ...(await finishedJobs(B, bJobs))];
    const started = rest.map((j) => at(j.started_at));
    expect(at(u!.started_at)).toBeLessThanOrEqual(Math.min(...started));
    expect(at(l!.started_at)).toBeGreaterThanOrEqual(Math.max(...started));
    await cluster.stopWorker(worker);
  }, 120_000);
});
