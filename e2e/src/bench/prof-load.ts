/**
 * A profiling aid: `Prefer: wait` single-row jobs from PROF_CLIENTS clients (64) through one
 * cluster (shipped mlp), PROF_JOBS jobs (8,000) after a warm-up; PROF_ROUTE=v2 sends v2 infer
 * requests instead; PROF_WORKER_ENV (a JSON object) adds worker settings. With PROFDIR set, the
 * API and worker run with `--cpu-prof` into it. Prints jobs/s and each process's CPU per job.
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { closeClients, post } from './client.js';
import { closedLoopRate } from './load.js';
import { cpuDuring } from './proc.js';

const JOBS = Number(process.env['PROF_JOBS'] ?? 8000);
const CLIENTS = Number(process.env['PROF_CLIENTS'] ?? 64);
const V2 = process.env['PROF_ROUTE'] === 'v2';
const dir = process.env['PROFDIR'];
const prof = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
const cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp', ...(process.env['PROF_WORKER_ENV'] ? JSON.parse(process.env['PROF_WORKER_ENV']) : {}) }, nodeArgs: { api: prof, worker: prof } });
const inputs = Array.from({ length: 256 }, (_, i) => rows(i, 1, 32)[0]!);
const one = (i: number) =>
  V2
    ? post(`${cluster.url}/v2/models/mlp/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: inputs[i % 256] }] })
    : post(`${cluster.url}/v1/jobs`, { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: inputs[i % 256] }] }, { Prefer: 'wait=60' });
const load = (jobs: number) => closedLoopRate(jobs, CLIENTS, one);
try {
  await load(1000);
  let rate = 0;
  const pids = { api: cluster.api.child.pid!, worker: cluster.workers[0]!.child.pid!, redis: cluster.redis.process.pid!, client: process.pid };
  const cpu = await cpuDuring(pids, async () => void (rate = await load(JOBS)));
  console.log(`${Math.round(rate)} jobs/s; CPU µs/job: ${Object.entries(cpu).map(([k, s]) => `${k} ${Math.round((s * 1e6) / JOBS)}`).join(', ')}`);
} finally {
  await closeClients();
  await cluster.stop('SIGTERM');
}
