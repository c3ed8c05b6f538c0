/**
 * A profiling aid: one batch file (TRACE_FORMAT npy|ndjson, TRACE_ROWS rows; TRACE_VALUES=float32
 * writes NDJSON values as JSON.stringify of float32s instead of 4 decimals, TRACE_LINES=tensor
 * lines in the tensor form) through a cluster
 * whose API and worker run with `--cpu-prof` into TRACE_CPU_PROF (if set). Prints the rate.
 * TRACE_CONFIG=none serves the mlp without its config.json (the defaults); any other value is
 * written as its config.json; TRACE_THREADS sets the worker's intra-op threads and
 * TRACE_WORKER_ENV and TRACE_API_ENV (JSON objects) add worker and API settings. Prints the CPU (user + system) and minor
 * page faults of each process from the upload to the end of the download. TRACE_ROOT runs the
 * cluster from another checkout's build (an A/B against it); TRACE_DOWNLOADS downloads each
 * batch's results that many more times, each timed with the API's CPU. Each file also prints the
 * share of its time the model's runs took (the model's stats: session thread and inline runs;
 * the rest is idle spells, see BENCHMARKS.md round 16).
 * The end is waited for by long-poll (`?wait=`), or by polling every TRACE_POLL_MS (a build
 * without the long-poll).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { npyHeader } from '@maas/client';
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { modelRepository } from '../harness/model-repo.js';
import { batchCompleted, closeClients, send } from './client.js';
import { faultsAndCpu, sampleRss, threadCpu } from './proc.js';

const ROWS = Number(process.env['TRACE_ROWS'] ?? 200_000);
const FORMAT = process.env['TRACE_FORMAT'] ?? 'npy';
const dir = process.env['TRACE_CPU_PROF'];
const prof = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
const repo = await modelRepository({});
if (process.env['TRACE_CONFIG'] === 'none') await rm(join(repo.dir, 'mlp/config.json'), { force: true });
else if (process.env['TRACE_CONFIG']) await writeFile(join(repo.dir, 'mlp/config.json'), process.env['TRACE_CONFIG']);
const cluster = await Cluster.start({ ...(process.env['TRACE_ROOT'] ? { root: process.env['TRACE_ROOT'] } : {}), models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp', ...(process.env['TRACE_THREADS'] ? { WORKER_INTRA_OP_THREADS: process.env['TRACE_THREADS'] } : {}), ...(process.env['TRACE_WORKER_ENV'] ? (JSON.parse(process.env['TRACE_WORKER_ENV']) as Record<string, string>) : {}) }, api: process.env['TRACE_API_ENV'] ? (JSON.parse(process.env['TRACE_API_ENV']) as Record<string, string>) : {}, nodeArgs: { api: [...prof, ...(process.env['TRACE_API_ARGS']?.split(' ').filter(Boolean) ?? [])], worker: [...prof, ...(process.env['TRACE_WORKER_ARGS']?.split(' ').filter(Boolean) ?? [])] } });
try {
  const data = rows(1, Math.min(ROWS, 10_000), 32);
  const parts: Buffer[] = [];
  if (FORMAT === 'npy') {
    parts.push(Buffer.from(npyHeader('<f4', [ROWS, 32])));
    for (let i = 0; i < ROWS; i += data.length) parts.push(Buffer.from(Float32Array.from(data.slice(0, Math.min(data.length, ROWS - i)).flat()).buffer));
  } else {
    // TRACE_VALUES=float32: each value as a program prints a float32 (JSON.stringify of it, 17 digits mostly), not toFixed(4)
    const value = process.env['TRACE_VALUES'] === 'float32' ? (v: number) => JSON.stringify(Math.fround(v)) : (v: number) => v.toFixed(4);
    // TRACE_LINES=tensor: each line in the tensor form ({"inputs": [{name, datatype, shape, data}]}), not the compact one
    const inputs = process.env['TRACE_LINES'] === 'tensor'
      ? (r: number[]) => `[{"name":"input","datatype":"FP32","shape":[1,32],"data":[${r.map(value).join(',')}]}]`
      : (r: number[]) => `{"input":[${r.map(value).join(',')}]}`;
    const text = data.map((r, i) => `{"custom_id":"r${i}","inputs":${inputs(r)}}\n`);
    for (let i = 0; i < ROWS; i += data.length) parts.push(Buffer.from(text.slice(0, Math.min(data.length, ROWS - i)).join('')));
  }
  const pids = { api: cluster.api.child.pid!, worker: cluster.workers[0]!.child.pid!, redis: cluster.redis.process.pid!, client: process.pid };
  // TRACE_REPEAT uploads (default 2): the first finds processes that have not served a file yet
  // (cold code, heaps still growing); each is printed.
  let computedNs = 0; // the sessions' compute time of the files before
  for (let round = 1; round <= Number(process.env['TRACE_REPEAT'] ?? 2); round++) {
    const cpu0 = await Promise.all(Object.values(pids).map(faultsAndCpu));
    const threads0 = await Promise.all([pids.api, pids.worker].map(threadCpu));
    const rss = sampleRss(pids.api);
    const t0 = performance.now();
    const res = await send(`${cluster.url}/v1/batches?model=mlp`, {
      method: 'POST', headers: { 'content-type': FORMAT === 'npy' ? 'application/x-npy' : 'application/x-ndjson' }, body: Readable.from(parts),
    });
    const batch = (await res.body.json()) as { id: string };
    const tUp = performance.now();
    await batchCompleted(cluster.url, batch.id, process.env['TRACE_POLL_MS'] ? Number(process.env['TRACE_POLL_MS']) : undefined);
    const tDone = performance.now();
    const out = await send(`${cluster.url}/v1/batches/${batch.id}/results`, { headers: { accept: FORMAT === 'npy' ? 'application/x-npy' : 'application/x-ndjson' } });
    let bytes = 0;
    for await (const c of out.body) bytes += (c as Buffer).length;
    const tEnd = performance.now();
    const cpu1 = await Promise.all(Object.values(pids).map(faultsAndCpu));
    console.log(`CPU ms (user+system): ${Object.keys(pids).map((k, i) => `${k} ${((cpu1[i]!.user - cpu0[i]!.user) * 1000).toFixed(0)}+${((cpu1[i]!.system - cpu0[i]!.system) * 1000).toFixed(0)}`).join(', ')}`);
    const threads1 = await Promise.all([pids.api, pids.worker].map(threadCpu));
    console.log(`CPU ms by thread (main thread first, then others with more than 5 ms): ${['api', 'worker'].map((k, i) => `${k} ${[...threads1[i]!].map(([tid, t]) => ({ tid, name: t.name, ms: (t.seconds - (threads0[i]!.get(tid)?.seconds ?? 0)) * 1000 })).filter((t) => t.tid === (i === 0 ? pids.api : pids.worker) || t.ms > 5).map((t) => `${t.name}:${t.ms.toFixed(0)}`).join(' ')}`).join('; ')}`);
    console.log(`minor page faults: ${Object.keys(pids).map((k, i) => `${k} ${cpu1[i]!.minflt - cpu0[i]!.minflt}`).join(', ')}`);
    const stats = (await (await send(`${cluster.url}/v2/models/mlp/stats`)).body.json()) as { model_stats: { batch_stats: { batch_size: number; compute_infer: { count: number; ns: number } }[] }[] };
    const runs = stats.model_stats[0]!.batch_stats.reduce((a, b) => ({ count: a.count + b.compute_infer.count, ns: a.ns + b.compute_infer.ns, rows: a.rows + b.batch_size * b.compute_infer.count }), { count: 0, ns: 0, rows: 0 });
    console.log(`runs so far: ${runs.count}, ${(runs.ns / 1e6).toFixed(0)} ms computing (${(runs.ns / 1e3 / Math.max(1, runs.rows)).toFixed(2)} µs a row)`);
    // One worker: the rest of the time from upload start to completion its runs waited (for rows, for the main thread, or for a core).
    const fileMs = tDone - t0;
    console.log(`this file: the model's runs computed ${((runs.ns - computedNs) / 1e6).toFixed(0)} ms of the ${fileMs.toFixed(0)} ms from upload start to completion (${((runs.ns - computedNs) / 1e4 / fileMs).toFixed(0)} %)`);
    computedNs = runs.ns;
    for (let d = 0; d < Number(process.env['TRACE_DOWNLOADS'] ?? 0); d++) {
      const [c0] = await Promise.all([faultsAndCpu(pids.api)]);
      const s0 = performance.now();
      const again = await send(`${cluster.url}/v1/batches/${batch.id}/results`, { headers: { accept: FORMAT === 'npy' ? 'application/x-npy' : 'application/x-ndjson' } });
      for await (const _ of again.body) { /* drained */ }
      const c1 = await faultsAndCpu(pids.api);
      console.log(`  download again: ${(performance.now() - s0).toFixed(0)} ms, API CPU ${((c1.user + c1.system - c0!.user - c0!.system) * 1000).toFixed(0)} ms`);
    }
    console.log(`API peak RSS ${rss.stop().toFixed(0)} MB`);
    console.log(`${FORMAT} #${round}: upload ${(tUp - t0).toFixed(0)} ms, run ${(tDone - tUp).toFixed(0)} ms, download ${(tEnd - tDone).toFixed(0)} ms (${bytes} bytes): ${Math.round(ROWS / ((tEnd - t0) / 1000))} rows/s`);
  }
} finally {
  await closeClients();
  await cluster.stop('SIGTERM');
  await repo.remove();
}
