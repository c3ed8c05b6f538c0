/**
 * What a response-cache hit costs against a run (BENCHMARKS.md round 26): the shipped mlp with
 * and without `response_cache`, alternated CACHE_ROUNDS times, each CACHE_REQUESTS v2 infer
 * requests of one row from CACHE_CLIENTS clients (default 1 and 64), all of the same inputs (so
 * with the cache every request after the first is a hit). Prints p50 / p99 and requests/s.
 * A profiling aid.
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { modelRepository } from '../harness/model-repo.js';
import { percentile } from './load.js';
import { closeClients, post } from './client.js';

const ROUNDS = Number(process.env['CACHE_ROUNDS'] ?? 2);
const N = Number(process.env['CACHE_REQUESTS'] ?? 3000);
const CLIENTS = (process.env['CACHE_CLIENTS'] ?? '1,64').split(',').map(Number);
const payload = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(3, 1, 32)[0] }] };

for (let round = 0; round < ROUNDS; round++) {
  for (const cached of [true, false]) {
    const repo = await modelRepository({ mlp: { response_cache: cached } });
    const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp' } });
    try {
      for (const clients of CLIENTS) {
        for (let i = 0; i < 200; i++) await post(`${cluster.url}/v2/models/mlp/infer`, payload);
        const ms: number[] = [];
        let next = 0;
        const t0 = performance.now();
        await Promise.all(Array.from({ length: clients }, async () => {
          while (next++ < N) {
            const s = performance.now();
            await post(`${cluster.url}/v2/models/mlp/infer`, payload);
            ms.push(performance.now() - s);
          }
        }));
        const rate = N / ((performance.now() - t0) / 1000);
        console.log(`${cached ? 'cache' : 'no cache'}, ${clients} client(s): p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms, ${Math.round(rate)} requests/s`);
      }
    } finally {
      await closeClients();
      await cluster.stop();
      await repo.remove();
    }
  }
}
