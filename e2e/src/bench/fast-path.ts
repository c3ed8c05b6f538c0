/**
 * `npm run bench`: the fast path (issue 11), every figure next to its target, in one run.
 *
 * 1. Latency at low load: one client, sequential requests (v2 infer and `Prefer: wait` jobs),
 *    for the shipped `mlp` and a copy without `config.json` (defaults), and to the peer, all
 *    running at once and asked in turn; added latency = the request's time minus a direct
 *    onnxruntime call of one row measured in this process.
 * 2. Per-job cost and throughput: 64 clients of single-row `Prefer: wait` jobs against the
 *    service and against a hand-rolled express + BullMQ peer (peer/*.ts), with Redis's own
 *    accounting (INFO commandstats, CPU) and each process's CPU per job.
 * 3. Batch files: BENCH_BATCH_ROWS rows as NDJSON and as `.npy`, for both configs, and (shipped
 *    config) as tensor-form NDJSON of 17-digit float32 text (each file
 *    BENCH_BATCH_WARM_UPS times unmeasured first, then BENCH_BATCH_MEASURED times measured: the
 *    median run is shown), against raw onnxruntime at its best (256 or 1,024
 *    rows a run, measured at the start and again right before, the higher of the two); API
 *    peak memory; each process's CPU a row.
 * 4. Long lines uploaded, and a wide batch's results downloaded: /v2/health/live's latency
 *    meanwhile, probed from a process of its own.
 * Writes BENCHMARKS.md (tables) and docs/bench-fast-path.svg (the chart). Timings compare only
 * within one run on this shared machine.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as ort from 'onnxruntime-node';
import { npyHeader } from '@maas/client';
import { buildWideOutputModel } from '@maas/model-gen/test-models';
import { createRedis, freePort, startRedisServer } from '@maas/shared';
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { modelRepository } from '../harness/model-repo.js';
import { REPO_ROOT, ServiceProcess } from '../harness/process.js';
import { batchCompleted, closeClients, post, send } from './client.js';
import { closedLoopRate, mean, percentile } from './load.js';
import { MLP, rawRowsPerSecond } from './ort.js';
import { cpuDuring, sampleRss } from './proc.js';
import { startProber } from './prober.js';
import { redisCost } from './redis-stats.js';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 4000);
const CLIENTS = Number(process.env['BENCH_CONCURRENCY'] ?? 64);
const SEQUENTIAL = Number(process.env['BENCH_SEQUENTIAL'] ?? 400);
const BATCH_ROWS = Number(process.env['BENCH_BATCH_ROWS'] ?? 200_000);
/** Unmeasured runs of each batch file before the measured ones (see where they run). */
const BATCH_WARM_UPS = Number(process.env['BENCH_BATCH_WARM_UPS'] ?? 4);
/** Measured runs of each batch file: the table shows the median one. */
const BATCH_MEASURED = Number(process.env['BENCH_BATCH_MEASURED'] ?? 3);
/** The row of the tensor-form NDJSON file (writeInputs). */
const TENSOR_FORMAT = 'NDJSON in and out, tensor form, float32 text';
/**
 * Jobs each service (ours and the peer) serves before a load is measured: its steady state,
 * not its start. Measured here, a fresh API reaches its rate after a few thousand jobs (V8
 * optimising the hot paths, the heap growing): 2,100-2,500 jobs/s over the first 4,000, then
 * 3,200-3,500.
 */
const WARM_UP_JOBS = Number(process.env['BENCH_WARM_UP_JOBS'] ?? 4000);
/** The heading of the section this bench rewrites in BENCHMARKS.md. */
const LATEST_RUN_HEADING = '## Fast path: the latest run of `npm run bench`';
const README_SCENARIO_JOBS_S = 1023; // README's figure before this work (batching on, 200 clients)

const body = (i: number) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(i, 1, 32)[0] }] });
const v2body = (i: number) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(i, 1, 32)[0] }] });

/** One row through a session in this process: the reference every added latency is measured from. */
async function directOrtMs(): Promise<{ p50: number; p99: number }> {
  const session = await ort.InferenceSession.create(MLP, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feed = { input: new ort.Tensor('float32', Float32Array.from(rows(1, 1, 32)[0]!), [1, 32]) };
  for (let i = 0; i < 200; i++) await session.run(feed);
  const ms: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await session.run(feed);
    ms.push(performance.now() - t);
  }
  await session.release();
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

/** A target of the latency phase: one request, sent and answered. */
type Send = (i: number) => Promise<unknown>;

/**
 * One client, sequential requests to every target in turn (in a new order each round), so
 * that each sees the same moments of this shared machine: one latency sample list per target.
 */
async function interleaved(n: number, targets: Record<string, Send>): Promise<Record<string, number[]>> {
  const names = Object.keys(targets);
  for (let i = 0; i < 50; i++) for (const k of names) await targets[k]!(i); // warm-up
  const ms: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const order = [...names];
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    // A new order each round (seeded shuffle): with a fixed rotation, a service's
    // `Prefer: wait` request came right after its own v2 request 4 times in 5, with its
    // processes still awake, and looked 0.5 ms faster than the v2 request it followed.
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(random() * (j + 1));
      [order[j], order[r]] = [order[r]!, order[j]!];
    }
    for (const k of order) {
      const t = performance.now();
      await targets[k]!(i);
      ms[k]!.push(performance.now() - t);
    }
  }
  return ms;
}

interface Load { jobsPerS: number; meanBatch: number; p50: number; p99: number }

/** `jobs` single-row requests from `clients` clients: `Prefer: wait` jobs, or v2 infer (`route` 'v2'). */
async function closedLoop(url: string, jobs: number, clients: number, route: 'wait' | 'v2' = 'wait'): Promise<Load> {
  const lat: number[] = [];
  const sizes: number[] = [];
  const jobsPerS = await closedLoopRate(jobs, clients, async (i) => {
    const t = performance.now();
    if (route === 'v2') {
      const r = await post(`${url}/v2/models/mlp/infer`, v2body(i));
      if (!r.outputs) throw new Error(`v2 infer: ${JSON.stringify(r)}`);
    } else {
      const r = await post(`${url}/v1/jobs`, body(i), { Prefer: 'wait=60' });
      if (r.status !== 'succeeded') throw new Error(`job ${r.id}: ${r.status}`);
      sizes.push(r.metrics.batch_size);
    }
    lat.push(performance.now() - t);
  });
  return { jobsPerS, meanBatch: sizes.length ? mean(sizes) : NaN, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

type Config = 'mlp (shipped config)' | 'mlp, no config.json';

async function startService(config: Config): Promise<{ cluster: Cluster; stop: () => Promise<void> }> {
  const repo = await modelRepository({});
  if (config === 'mlp, no config.json') await rm(join(repo.dir, 'mlp/config.json'), { force: true });
  const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp' } });
  return { cluster, stop: async () => { await cluster.stop(); await repo.remove(); } };
}

async function withService<T>(config: Config, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const { cluster, stop } = await startService(config);
  try {
    return await fn(cluster);
  } finally {
    await stop();
  }
}

interface ServiceFigures {
  load: Load;
  /** the same load as v2 infer requests (packed by the API: see infer-packer.ts) */
  v2Load: Load;
  v2PerJob: { commands: number; cpuUs: Record<string, number> };
  perJob: { commands: number; scripts: number; redisUs: number; cpuUs: Record<string, number> };
  top: [string, number][];
}

async function measureService(config: Config): Promise<ServiceFigures> {
  return withService(config, async (c) => {
    await closedLoop(c.url, WARM_UP_JOBS, CLIENTS); // warm-up
    const redis = c.redisClient();
    let load!: Load;
    let cpu!: Record<string, number>;
    const cost = await redisCost(redis, async () => {
      cpu = await cpuDuring({ api: c.api.child.pid!, worker: c.workers[0]!.child.pid! }, async () => {
        load = await closedLoop(c.url, JOBS, CLIENTS);
      });
    });
    await closedLoop(c.url, WARM_UP_JOBS, CLIENTS, 'v2'); // warm-up
    let v2Load!: Load;
    let v2Cpu!: Record<string, number>;
    const v2Cost = await redisCost(redis, async () => {
      v2Cpu = await cpuDuring({ api: c.api.child.pid!, worker: c.workers[0]!.child.pid! }, async () => {
        v2Load = await closedLoop(c.url, JOBS, CLIENTS, 'v2');
      });
    });
    redis.disconnect();
    return {
      load, top: cost.top, v2Load,
      v2PerJob: { commands: v2Cost.calls / JOBS, cpuUs: Object.fromEntries(Object.entries(v2Cpu).map(([k, s]) => [k, (s * 1e6) / JOBS])) },
      perJob: {
        commands: cost.calls / JOBS, scripts: cost.scripts / JOBS, redisUs: (cost.cpuSeconds * 1e6) / JOBS,
        cpuUs: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, (s * 1e6) / JOBS])),
      },
    };
  });
}

interface Peer { url: string; server: ServiceProcess; worker: ServiceProcess; redisUrl: string; stop: () => Promise<void> }

async function startPeer(): Promise<Peer> {
  const redisServer = await startRedisServer();
  const port = await freePort();
  const env = { REDIS_URL: redisServer.url, PORT: String(port), MODEL_PATH: MLP };
  const worker = ServiceProcess.start('peer-worker', join(REPO_ROOT, 'e2e/dist/bench/peer/worker.js'), env);
  const server = ServiceProcess.start('peer', join(REPO_ROOT, 'e2e/dist/bench/peer/server.js'), env);
  const stop = async () => {
    await Promise.all([worker.stop('SIGKILL'), server.stop('SIGKILL')]);
    await redisServer.stop();
  };
  try {
    await Promise.all([worker.waitFor(/peer worker ready/), server.waitFor(/peer listening/)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, server, worker, redisUrl: redisServer.url, stop };
}

async function measurePeer(): Promise<{ load: Load; perJob: { commands: number; redisUs: number; cpuUs: Record<string, number> } }> {
  const peer = await startPeer();
  try {
    const { url, server, worker } = peer;
    await closedLoop(url, WARM_UP_JOBS, CLIENTS);
    const redis = createRedis(peer.redisUrl, { maxRetriesPerRequest: 1 });
    let load!: Load;
    let cpu!: Record<string, number>;
    const cost = await redisCost(redis, async () => {
      cpu = await cpuDuring({ api: server.child.pid!, worker: worker.child.pid! }, async () => {
        load = await closedLoop(url, JOBS, CLIENTS);
      });
    });
    redis.disconnect();
    const cpuUs = Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, (s * 1e6) / JOBS]));
    return { load, perJob: { commands: cost.calls / JOBS, redisUs: (cost.cpuSeconds * 1e6) / JOBS, cpuUs } };
  } finally {
    await peer.stop();
  }
}

/** Latency at one client: both configs' v2 infer and `Prefer: wait`, and the peer, interleaved (see `interleaved`). */
async function measureLatency(): Promise<Record<string, number[]>> {
  const shipped = await startService('mlp (shipped config)');
  const bare = await startService('mlp, no config.json');
  const peer = await startPeer();
  try {
    const targets: Record<string, Send> = {};
    for (const [config, { cluster: c }] of [['mlp (shipped config)', shipped], ['mlp, no config.json', bare]] as const) {
      targets[`${config}|v2 infer`] = (i) => post(`${c.url}/v2/models/mlp/infer`, v2body(i));
      targets[`${config}|POST /v1/jobs, Prefer: wait`] = (i) => post(`${c.url}/v1/jobs`, body(i), { Prefer: 'wait=60' });
    }
    targets['peer'] = (i) => post(`${peer.url}/v1/jobs`, body(i));
    // Each service in its steady state first (as for the loads below), one after the other.
    for (const c of [shipped.cluster, bare.cluster]) {
      await closedLoop(c.url, WARM_UP_JOBS, CLIENTS);
      await closedLoop(c.url, WARM_UP_JOBS, CLIENTS, 'v2');
    }
    await closedLoop(peer.url, WARM_UP_JOBS, CLIENTS);
    return await interleaved(SEQUENTIAL, targets);
  } finally {
    await Promise.all([shipped.stop(), bare.stop(), peer.stop()]);
  }
}

/**
 * The batch files: compact NDJSON lines of 4-decimal values, the same rows as `.npy`, and the
 * same rows as NDJSON lines in the tensor form (CONTRACT §4's first) with each value as a
 * program prints a float32 (`JSON.stringify`: 17 digits mostly), as a client that serialises
 * its arrays with a JSON library sends them.
 */
async function writeInputs(dir: string): Promise<{ ndjson: string; npy: string; tensorNdjson: string }> {
  const ndjson = join(dir, 'rows.ndjson');
  const npy = join(dir, 'rows.npy');
  const tensorNdjson = join(dir, 'rows-tensor.ndjson');
  const a = createWriteStream(ndjson);
  const b = createWriteStream(npy);
  const t = createWriteStream(tensorNdjson);
  b.write(npyHeader('<f4', [BATCH_ROWS, 32]));
  const drained = (w: NodeJS.WritableStream, ok: boolean) => (ok ? undefined : new Promise<void>((r) => w.once('drain', () => r())));
  for (let start = 0; start < BATCH_ROWS; start += 1000) {
    const block = rows(start + 1, Math.min(1000, BATCH_ROWS - start), 32);
    await drained(a, a.write(block.map((r, i) => `{"custom_id":"r${start + i}","inputs":{"input":[${r.map((v) => v.toFixed(4)).join(',')}]}}\n`).join('')));
    await drained(b, b.write(Buffer.from(Float32Array.from(block.flat().map((v) => Number(v.toFixed(4)))).buffer)));
    const tensor = (r: number[]) => `[{"name":"input","datatype":"FP32","shape":[1,32],"data":[${r.map((v) => JSON.stringify(Math.fround(v))).join(',')}]}]`;
    await drained(t, t.write(block.map((r, i) => `{"custom_id":"r${start + i}","inputs":${tensor(r)}}\n`).join('')));
  }
  await Promise.all([a, b, t].map((w) => new Promise((r) => w.end(r))));
  return { ndjson, npy, tensorNdjson };
}

interface BatchFigures {
  rowsPerS: number;
  rssMb: number;
  /** CPU µs a row each process spent from the upload to the end of the download */
  cpuUsPerRow: Record<string, number>;
}

/** The run of median rows/s (its CPU figures with it), with the highest peak RSS of all the runs. */
function medianRun(runs: BatchFigures[]): BatchFigures {
  const sorted = [...runs].sort((a, b) => a.rowsPerS - b.rowsPerS);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

async function batchRun(c: Cluster, input: string, type: string, accept: string, out: string): Promise<BatchFigures> {
  const pids = { API: c.api.child.pid!, worker: c.workers[0]!.child.pid!, Redis: c.redis.process.pid!, client: process.pid };
  let rowsPerS = 0;
  let rssMb = 0;
  const cpu = await cpuDuring(pids, async () => {
    const rss = sampleRss(c.api.child.pid!);
    const t0 = performance.now();
    // The file is streamed as it is read, as `curl --data-binary @file` would (through the
    // benches' undici Pool: fetch's web streams cost the client as much CPU as the API's parsing).
    const res = await send(`${c.url}/v1/batches?model=mlp`, {
      method: 'POST', headers: { 'content-type': type }, body: createReadStream(input, { highWaterMark: 1 << 20 }),
    });
    const batch = (await res.body.json()) as any;
    if (res.statusCode !== 202) throw new Error(`upload: ${JSON.stringify(batch)}`);
    await batchCompleted(c.url, batch.id);
    const results = await send(`${c.url}/v1/batches/${batch.id}/results`, { headers: { accept } });
    await pipeline(results.body, createWriteStream(out));
    rowsPerS = BATCH_ROWS / ((performance.now() - t0) / 1000);
    rssMb = rss.stop();
  });
  return { rowsPerS, rssMb, cpuUsPerRow: Object.fromEntries(Object.entries(cpu).map(([k, sec]) => [k, (sec * 1e6) / BATCH_ROWS])) };
}

/** Times a long-line upload or a wide download is repeated (the probes of all of them pooled). */
const PROBED_RUNS = 3;

/**
 * Runs `work` PROBED_RUNS times, each while a client in its own process (prober.ts) probes
 * /v2/health/live every 10 ms: what each run gave, the slowest run's seconds, and the probes'
 * p99 over all of them.
 */
async function probed<T>(c: Cluster, work: () => Promise<T>): Promise<{ results: T[]; seconds: number; healthP99: number; probes: number }> {
  const probes: number[] = [];
  const results: T[] = [];
  let seconds = 0;
  for (let i = 0; i < PROBED_RUNS; i++) {
    const prober = await startProber(`${c.url}/v2/health/live`, 10);
    const t0 = performance.now();
    results.push(await work());
    seconds = Math.max(seconds, (performance.now() - t0) / 1000);
    probes.push(...(await prober.stop()));
  }
  return { results, seconds, healthP99: percentile(probes, 99), probes: probes.length };
}

/** Batch uploads of one line of `mb` MB (a compact line of floats, streamed in 64 KB pieces), probed: their answer. */
async function longLine(c: Cluster, mb: number): Promise<{ status: number; seconds: number; healthP99: number; probes: number }> {
  const piece = Buffer.from('0.125,'.repeat(64 * 1024 / 6));
  const pieces = Math.ceil((mb * 1024 * 1024) / piece.length);
  async function* body() {
    yield Buffer.from('{"custom_id":"long","inputs":{"input":[');
    for (let i = 0; i < pieces; i++) yield piece;
    yield Buffer.from('0.125]}}\n');
  }
  const { results, ...figures } = await probed(c, async () => {
    const res = await fetch(`${c.url}/v1/batches?model=mlp`, {
      method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: Readable.toWeb(Readable.from(body())) as ReadableStream, duplex: 'half',
    } as RequestInit).catch(() => undefined);
    await res?.arrayBuffer();
    return res?.status ?? 0;
  });
  return { status: new Set(results).size === 1 ? results[0]! : 0, ...figures };
}

/** Rows and outputs a row of the wide results download (section 4). */
const WIDE_ROWS = 8192;
const WIDE_WIDTH = 256;

/** The results of a batch that dwarf its upload (`wide_out`: 4 inputs, 256 outputs a row; 8,192 lines → about 43 MB of NDJSON), downloaded, probed. */
async function wideResults(): Promise<{ mb: number; seconds: number; healthP99: number; probes: number }> {
  const repo = await modelRepository({});
  await mkdir(join(repo.dir, 'wide/1'), { recursive: true });
  await writeFile(join(repo.dir, 'wide/1/model.onnx'), buildWideOutputModel(WIDE_WIDTH));
  await writeFile(join(repo.dir, 'wide/config.json'), JSON.stringify({ max_batch_size: 1024 }));
  const c = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'wide' } });
  try {
    const text = Array.from({ length: WIDE_ROWS }, (_, i) => `{"custom_id":"w${i}","inputs":{"x":[${(i % 7) / 7},0.5,-0.25,${(i % 3) / 3}]}}\n`).join('');
    const res = await send(`${c.url}/v1/batches?model=wide`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: text });
    const { id } = (await res.body.json()) as { id: string };
    await batchCompleted(c.url, id);
    const { results, ...figures } = await probed(c, async () => {
      let bytes = 0;
      for await (const piece of (await send(`${c.url}/v1/batches/${id}/results`)).body) bytes += (piece as Buffer).length;
      return bytes;
    });
    return { mb: results[0]! / 1e6, ...figures };
  } finally {
    await c.stop();
    await repo.remove();
  }
}

const ms = (x: number) => x.toFixed(2);
const mark = (ok: boolean) => (ok ? 'met' : '**missed**');

async function main() {
  console.log(`fast-path bench: ${JOBS} jobs at ${CLIENTS} clients, ${SEQUENTIAL} sequential requests, ${BATCH_ROWS} batch rows\n`);
  const direct = await directOrtMs();
  // Raw ORT's best, measured here and again right before the batch files (the best of both):
  // one reading swung 0.63-1.15 M rows/s between runs, which moved the ratios more than anything.
  const rawBest = async () => Math.max(...(await rawRowsPerSecond([256, 1024], 2000)).values());
  let raw = await rawBest();
  console.log(`direct onnxruntime, 1 row: p50 ${ms(direct.p50)} ms, p99 ${ms(direct.p99)} ms; best raw rows/s ${Math.round(raw)}`);
  const latency = await measureLatency();
  const services: Record<Config, ServiceFigures> = {
    'mlp (shipped config)': await measureService('mlp (shipped config)'),
    'mlp, no config.json': await measureService('mlp, no config.json'),
  };
  const peer = await measurePeer();

  if (BATCH_ROWS > 0) {
    raw = Math.max(raw, await rawBest());
    console.log(`best raw rows/s, measured again: ${Math.round(raw)}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'maas-fastpath-'));
  const inputs = await writeInputs(dir);
  const batches: Record<string, Record<string, BatchFigures>> = {};
  for (const config of BATCH_ROWS > 0 ? (Object.keys(services) as Config[]) : []) {
    batches[config] = await withService(config, async (c) => {
      const ndjson = () => batchRun(c, inputs.ndjson, 'application/x-ndjson', 'application/x-ndjson', join(dir, 'out'));
      const npy = () => batchRun(c, inputs.npy, 'application/x-npy', 'application/x-npy', join(dir, 'out'));
      // the tensor-form file for the shipped config only (bench time)
      const tensorNdjson = config === 'mlp (shipped config)' ? () => batchRun(c, inputs.tensorNdjson, 'application/x-ndjson', 'application/x-ndjson', join(dir, 'out')) : undefined;
      // Each file goes through BATCH_WARM_UPS times unmeasured: the steady state, as for the
      // loads above. A fresh API and worker took 1.3-1.8x as long for their first file as for
      // the second (code not yet optimised, heaps still growing: the worker had 5-100x the page
      // faults), and `.npy` rounds kept getting faster up to the fifth (round 10: 15 rounds,
      // 226-398 k rows/s in the first, 530-650 k from the sixth on).
      for (let i = 0; i < BATCH_WARM_UPS; i++) {
        await ndjson();
        await npy();
        await tensorNdjson?.();
      }
      const measured: Record<string, BatchFigures[]> = { 'NDJSON in and out': [], '.npy in and out': [], ...(tensorNdjson ? { [TENSOR_FORMAT]: [] } : {}) };
      for (let i = 0; i < BATCH_MEASURED; i++) {
        measured['NDJSON in and out']!.push(await ndjson());
        measured['.npy in and out']!.push(await npy());
        if (tensorNdjson) measured[TENSOR_FORMAT]!.push(await tensorNdjson());
      }
      return Object.fromEntries(Object.entries(measured).map(([k, runs]) => [k, medianRun(runs)]));
    });
  }
  await rm(dir, { recursive: true, force: true });
  const lines = BATCH_ROWS > 0
    ? await withService('mlp (shipped config)', async (c) => ({ over: await longLine(c, 100), under: await longLine(c, 48) }))
    : undefined;
  const wide = BATCH_ROWS > 0 ? await wideResults() : undefined;

  const report: string[] = [];
  const out = (s = '') => {
    report.push(s);
    console.log(s);
  };
  out(LATEST_RUN_HEADING);
  out();
  out(`Measured ${new Date().toISOString().slice(0, 10)} on this 2-core machine, everything (Redis, API, worker, clients) sharing it; the clients are one undici Pool (bench/client.ts), for the service and the peer alike. Direct onnxruntime call of one row in the bench process: p50 ${ms(direct.p50)} ms, p99 ${ms(direct.p99)} ms.`);
  out();
  out('### 1. Added latency at one client (target: p50 ≤ 3 ms, p99 ≤ 10 ms over a direct ORT call)');
  out();
  out('| config | route | p50 ms | p99 ms | added p50 | added p99 | target |');
  out('| --- | --- | --- | --- | --- | --- | --- |');
  for (const config of Object.keys(services)) {
    for (const route of ['v2 infer', 'POST /v1/jobs, Prefer: wait']) {
      const xs = latency[`${config}|${route}`]!;
      const a50 = percentile(xs, 50) - direct.p50;
      const a99 = percentile(xs, 99) - direct.p99;
      out(`| ${config} | ${route} | ${ms(percentile(xs, 50))} | ${ms(percentile(xs, 99))} | ${ms(a50)} | ${ms(a99)} | ${mark(a50 <= 3 && a99 <= 10)} |`);
    }
  }
  const peerWait = latency['peer']!;
  out(`| peer (express + BullMQ) | POST /v1/jobs (waits) | ${ms(percentile(peerWait, 50))} | ${ms(percentile(peerWait, 99))} | ${ms(percentile(peerWait, 50) - direct.p50)} | ${ms(percentile(peerWait, 99) - direct.p99)} | reference |`);
  out();
  out(`### 2. Single-row jobs at ${CLIENTS} clients, \`Prefer: wait\` (targets: ≥ 1.2× the peer, ≥ ${3 * README_SCENARIO_JOBS_S} jobs/s = 3× the README's ${README_SCENARIO_JOBS_S}, mean formed batch ≥ 32)`);
  out();
  out('| service | jobs/s | vs peer | mean batch | p50 ms | p99 ms | Redis commands/job | scripts/job | Redis CPU µs/job | API CPU µs/job | worker CPU µs/job |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [config, f] of Object.entries(services)) {
    const l = f.load;
    out(`| ${config} | ${Math.round(l.jobsPerS)} | ${(l.jobsPerS / peer.load.jobsPerS).toFixed(2)}× | ${l.meanBatch.toFixed(1)} | ${ms(l.p50)} | ${ms(l.p99)} | ${f.perJob.commands.toFixed(1)} | ${f.perJob.scripts.toFixed(2)} | ${f.perJob.redisUs.toFixed(0)} | ${f.perJob.cpuUs['api']!.toFixed(0)} | ${f.perJob.cpuUs['worker']!.toFixed(0)} |`);
  }
  out(`| peer | ${Math.round(peer.load.jobsPerS)} | 1.00× | 1 | ${ms(peer.load.p50)} | ${ms(peer.load.p99)} | ${peer.perJob.commands.toFixed(1)} | – | ${peer.perJob.redisUs.toFixed(0)} | ${peer.perJob.cpuUs['api']!.toFixed(0)} (its server) | ${peer.perJob.cpuUs['worker']!.toFixed(0)} (its worker) |`);
  out();
  out(`The same single-row load as v2 infer requests (\`POST /v2/models/mlp/infer\`, ${CLIENTS} clients): the API packs the requests of one turn into one job (infer-packer.ts), so BullMQ's per-job scripts are paid once per pack. The peer has no such route; its figure is the same job-per-request service as above.`);
  out();
  out('| service | requests/s | vs peer | p50 ms | p99 ms | Redis commands/request | API CPU µs/request | worker CPU µs/request |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [config, f] of Object.entries(services)) {
    const l = f.v2Load;
    out(`| ${config}, v2 infer | ${Math.round(l.jobsPerS)} | ${(l.jobsPerS / peer.load.jobsPerS).toFixed(2)}× | ${ms(l.p50)} | ${ms(l.p99)} | ${f.v2PerJob.commands.toFixed(1)} | ${f.v2PerJob.cpuUs['api']!.toFixed(0)} | ${f.v2PerJob.cpuUs['worker']!.toFixed(0)} |`);
  }
  out();
  out('Redis commands of the shipped-config run, per job (INFO commandstats, script-inner calls included):');
  out();
  out(services['mlp (shipped config)'].top.map(([k, v]) => `\`${k}\` ${(v / JOBS).toFixed(2)}`).join(' · '));
  out();
  out(`### 3. Batch files, ${BATCH_ROWS.toLocaleString()} rows (targets: .npy ≥ 0.6, NDJSON ≥ 0.35 of raw ORT at its best, ${Math.round(raw).toLocaleString()} rows/s)`);
  out();
  out(`Each file went through each service ${BATCH_WARM_UPS} times unmeasured (its steady state, as for the loads above), then ${BATCH_MEASURED} times measured: the median run is shown, with the highest API peak RSS of the measured runs.`);
  out();
  out('| config | format | rows/s | ratio to raw | target | API peak RSS MB | CPU µs a row: API / worker / Redis / client = all | all at the target, 2 cores |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [config, byFormat] of Object.entries(batches)) {
    for (const [format, r] of Object.entries(byFormat)) {
      const ratio = r.rowsPerS / raw;
      const target = format.startsWith('.npy') ? 0.6 : 0.35;
      const cpu = Object.values(r.cpuUsPerRow);
      // At the target rate, two fully busy cores have this much CPU a row for every process together.
      const budget = (2 * 1e6) / (target * raw);
      out(`| ${config} | ${format} | ${Math.round(r.rowsPerS).toLocaleString()} | ${ratio.toFixed(3)} | ${mark(ratio >= target)} | ${r.rssMb.toFixed(0)} | ${cpu.map((x) => x.toFixed(2)).join(' / ')} = ${cpu.reduce((a, b) => a + b, 0).toFixed(2)} | ≤ ${budget.toFixed(2)} |`);
    }
  }
  if (lines) {
    out();
    out('### 4. Long lines, and a wide download (targets: a line over the limit ends promptly; health p99 < 50 ms meanwhile)');
    out();
    out(`Each size uploaded ${PROBED_RUNS} times; seconds: the slowest; the probes (a client in its own process, every 10 ms) pooled over all of them.`);
    out();
    out('| line | answer | seconds | health probes | health p99 ms | target |');
    out('| --- | --- | --- | --- | --- | --- |');
    for (const [label, r] of [['100 MB (over the 64 MB limit)', lines.over], ['48 MB (under it: read, then refused as one bad line)', lines.under]] as const) {
      out(`| ${label} | ${r.status} | ${r.seconds.toFixed(2)} | ${r.probes} | ${ms(r.healthP99)} | ${mark(r.healthP99 < 50)} |`);
    }
  }
  if (wide) {
    out();
    out(`The same for a download: the results of a batch of ${WIDE_ROWS.toLocaleString()} lines of a model with ${WIDE_WIDTH} outputs a row (${wide.mb.toFixed(0)} MB of NDJSON), downloaded ${PROBED_RUNS} times while the probe runs.`);
    out();
    out('| download | seconds (slowest) | health probes | health p99 ms | target |');
    out('| --- | --- | --- | --- | --- |');
    out(`| ${wide.mb.toFixed(0)} MB of results | ${wide.seconds.toFixed(2)} | ${wide.probes} | ${ms(wide.healthP99)} | ${mark(wide.healthP99 < 50)} |`);
  }
  out();
  out('![fast path chart](docs/bench-fast-path.svg)');
  await writeFile(join(REPO_ROOT, 'docs/bench-fast-path.svg'), chart([
    ...Object.entries(services).map(([k, f]) => [k, f.load.jobsPerS] as [string, number]),
    ...Object.entries(services).map(([k, f]) => [`${k}, v2 infer`, f.v2Load.jobsPerS] as [string, number]),
    ['hand-rolled peer', peer.load.jobsPerS],
  ]));
  await writeBenchmarks(report.join('\n'));
  await closeClients();
}

/**
 * Replaces the section of BENCHMARKS.md this bench writes (its latest run), leaving every other
 * section as it is: the curated fast-path analysis above it (before/after tables, profiles,
 * each change's effect) is written by hand from runs like this one.
 */
async function writeBenchmarks(section: string): Promise<void> {
  const file = join(REPO_ROOT, 'BENCHMARKS.md');
  const current = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const start = current.indexOf(LATEST_RUN_HEADING);
  const end = start === -1 ? -1 : current.indexOf('\n## ', start + 5);
  const next = start === -1 ? `${current.trimEnd()}\n\n${section}\n` : `${current.slice(0, start)}${section}\n${end === -1 ? '' : current.slice(end)}`;
  await writeFile(file, next);
}

/** A horizontal bar chart of jobs/s as SVG. */
function chart(bars: [string, number][]): string {
  const max = Math.max(...bars.map(([, v]) => v));
  const h = 28;
  const rowsSvg = bars.map(([label, v], i) => {
    const w = Math.round((v / max) * 420);
    return `<text x="0" y="${i * h + 40}" font-size="12">${label}</text><rect x="200" y="${i * h + 28}" width="${w}" height="18" fill="#3b82f6"/><text x="${205 + w}" y="${i * h + 42}" font-size="12">${Math.round(v)} jobs/s</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="${bars.length * h + 40}" font-family="sans-serif"><text x="0" y="16" font-size="13" font-weight="bold">Single-row requests/s at ${CLIENTS} clients, Prefer: wait and v2 infer (one run)</text>${rowsSvg.join('')}</svg>\n`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
