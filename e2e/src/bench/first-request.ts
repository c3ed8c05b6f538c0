/**
 * The first requests a fresh worker serves, with and without warm-up (shared models/warmup.ts):
 * FIRST_ROUNDS times each, alternated, a cluster with one worker serving the shipped mlp
 * (config.json's warmup_batch_sizes unset, then []), then one job of 1 row and one of 1,024
 * rows, one after the other; prints each job's `inference_ms` (the run) and the time to its
 * answer, and the medians. A profiling aid (BENCHMARKS.md round 26).
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { modelRepository } from '../harness/model-repo.js';
import { closeClients, post } from './client.js';

const ROUNDS = Number(process.env['FIRST_ROUNDS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, Record<string, number[]>> = {};

for (let round = 0; round < ROUNDS; round++) {
  for (const [label, patch] of [['warmed (default)', {}], ['no warm-up ([])', { warmup_batch_sizes: [] }]] as const) {
    const repo = await modelRepository({ mlp: patch });
    const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp' } });
    try {
      for (const n of [1, 1024]) {
        const t0 = performance.now();
        const job = await post(`${cluster.url}/v1/jobs`, { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [n, 32], data: rows(round, n, 32).flat() }] }, { prefer: 'wait=30' });
        const total = performance.now() - t0;
        const by = (results[label] ??= {});
        (by[`${n} row(s): run ms`] ??= []).push(job.metrics.inference_ms);
        (by[`${n} row(s): answer ms`] ??= []).push(total);
        const [created, started, completed] = [job.created_at, job.started_at, job.completed_at].map((t: string) => Date.parse(t)) as [number, number, number];
        console.log(label, `${n} rows`, `run ${job.metrics.inference_ms.toFixed(2)} ms`, `answer ${total.toFixed(1)} ms`, `(queued ${started - created} ms, started→completed ${completed - started} ms, ${job.metrics.batch_size} rows a run)`);
      }
    } finally {
      await closeClients();
      await cluster.stop();
      await repo.remove();
    }
  }
}
for (const [label, by] of Object.entries(results)) {
  console.log(`${label}: ${Object.entries(by).map(([k, xs]) => `${k} median ${median(xs).toFixed(2)}`).join('; ')}`);
}
