/**
 * A/B aid for a setting or a build: two clusters at once (shipped mlp), their workers
 * started with AB_A and AB_B and their APIs with AB_API_A and AB_API_B (JSON objects of
 * environment variables); AB_ROOT_A / AB_ROOT_B run A / B from another checkout's build (e.g.
 * a worktree of the previous commit). One client asks them in turn (AB_SEQUENTIAL requests
 * each, AB_GAP_MS apart), then 64 clients load each in turn (AB_JOBS `Prefer: wait` jobs,
 * AB_ROUNDS rounds). Prints latency percentiles, jobs/s, the mean formed batch and each
 * process's CPU per job, A next to B.
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { closeClients, post } from './client.js';
import { closedLoopRate, mean, percentile } from './load.js';
import { cpuDuring } from './proc.js';

const envA = JSON.parse(process.env['AB_A'] ?? '{}') as Record<string, string>;
const envB = JSON.parse(process.env['AB_B'] ?? '{}') as Record<string, string>;
const apiEnvs = [process.env['AB_API_A'], process.env['AB_API_B']].map((e) => JSON.parse(e ?? '{}') as Record<string, string>);
const SEQUENTIAL = Number(process.env['AB_SEQUENTIAL'] ?? 1000);
const GAP = Number(process.env['AB_GAP_MS'] ?? 0);
const JOBS = Number(process.env['AB_JOBS'] ?? 4000);
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 3);
const inputs = Array.from({ length: 256 }, (_, i) => rows(i, 1, 32)[0]!);
const job = (url: string, i: number) =>
  post(`${url}/v1/jobs`, { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: inputs[i % 256] }] }, { Prefer: 'wait=60' });

const roots = [process.env['AB_ROOT_A'], process.env['AB_ROOT_B']];
const clusters = await Promise.all([envA, envB].map((env, k) =>
  Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp', ...env }, api: apiEnvs[k]!, ...(roots[k] ? { root: roots[k] } : {}) })));
const names = ['A', 'B'] as const;
try {
  const lat: number[][] = [[], []];
  for (let i = 0; i < 100; i++) for (const c of clusters) await job(c.url, i);
  for (let i = 0; i < SEQUENTIAL; i++) {
    for (let j = 0; j < 2; j++) {
      const k = (i + j) % 2;
      const t = performance.now();
      await job(clusters[k]!.url, i);
      lat[k]!.push(performance.now() - t);
      if (GAP) await new Promise((r) => setTimeout(r, GAP));
    }
  }
  for (const k of [0, 1]) console.log(`${names[k]} 1 client: p50 ${percentile(lat[k]!, 50).toFixed(2)} p90 ${percentile(lat[k]!, 90).toFixed(2)} p99 ${percentile(lat[k]!, 99).toFixed(2)} ms`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of round % 2 ? [1, 0] : [0, 1]) {
      const c = clusters[k]!;
      let rate = 0;
      const sizes: number[] = [];
      const cpu = await cpuDuring({ api: c.api.child.pid!, worker: c.workers[0]!.child.pid!, redis: c.redis.process.pid! }, async () => {
        rate = await closedLoopRate(JOBS, 64, async (i) => {
          const r = (await job(c.url, i)) as { metrics?: { batch_size?: number } };
          if (r.metrics?.batch_size) sizes.push(r.metrics.batch_size);
        });
      });
      console.log(`${names[k]} 64 clients: ${Math.round(rate)} jobs/s, mean batch ${mean(sizes).toFixed(1)}; CPU µs/job ${Object.entries(cpu).map(([p, s]) => `${p} ${Math.round((s * 1e6) / JOBS)}`).join(', ')}`);
    }
  }
} finally {
  await closeClients();
  await Promise.all(clusters.map((c) => c.stop('SIGTERM')));
}
