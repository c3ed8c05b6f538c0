/**
 * Where a request's time goes: job metrics of `Prefer: wait` jobs from TRACE_CLIENTS clients (1: low
 * load), optionally with `--cpu-prof` on the API and worker (TRACE_CPU_PROF=dir, sampling every
 * TRACE_CPU_PROF_INTERVAL µs), and the CPU each process spent a job. TRACE_ROOT runs the cluster
 * from another checkout's build (an A/B against it). A profiling aid.
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { percentile } from './load.js';
import { closeClients, post } from './client.js';
import { cpuSeconds } from './proc.js';

const N = Number(process.env['TRACE_JOBS'] ?? 300);
const profArgs = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${process.env['TRACE_CPU_PROF_INTERVAL'] ?? 1000}`];
const nodeArgs = process.env['TRACE_CPU_PROF'] ? { api: profArgs(process.env['TRACE_CPU_PROF']), worker: profArgs(process.env['TRACE_CPU_PROF']) } : undefined;
const cluster = await Cluster.start({ ...(process.env['TRACE_ROOT'] ? { root: process.env['TRACE_ROOT'] } : {}), workers: 1, worker: { WORKER_MODELS: 'mlp' }, ...(nodeArgs ? { nodeArgs } : {}) });
const t: Record<string, number[]> = { total: [], queue: [], wait: [], inference: [], 'created→completed': [] };
/** means of the phases (ms clocks of one machine; means of many jobs resolve below a millisecond) */
const phases: Record<string, number[]> = { 'sent→created (API in)': [], 'created→started (fetch)': [], 'started→completed (worker)': [], 'completed→answered (API out)': [] };
try {
  const clients = Number(process.env['TRACE_CLIENTS'] ?? 1);
  const pids: Record<string, number> = { api: cluster.api.child.pid!, worker: cluster.workers[0]!.child.pid!, redis: cluster.redis.process.pid!, client: process.pid };
  let cpuAtWarm: Record<string, number> = {};
  const cpuNow = async () => Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, pid]) => [k, await cpuSeconds(pid)] as const)));
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
  for (let i = next++; i < N + 50; i = next++) {
    const t0 = performance.now();
    const sentAt = Date.now();
    const job = await post(`${cluster.url}/v1/jobs`, { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(i, 1, 32)[0] }] }, { prefer: 'wait=10' });
    if (i === 49) cpuAtWarm = await cpuNow();
    if (i < 50) continue;
    t['total']!.push(performance.now() - t0);
    t['queue']!.push(job.metrics.queue_ms);
    t['wait']!.push(job.metrics.batch_wait_ms);
    t['inference']!.push(job.metrics.inference_ms);
    t['created→completed']!.push(Date.parse(job.completed_at) - Date.parse(job.created_at));
    const [created, started, completed, answered] = [Date.parse(job.created_at), Date.parse(job.started_at), Date.parse(job.completed_at), Date.now()];
    phases['sent→created (API in)']!.push(created - sentAt);
    phases['created→started (fetch)']!.push(started - created);
    phases['started→completed (worker)']!.push(completed - started);
    phases['completed→answered (API out)']!.push(answered - completed);
  }
  }));
  const cpuEnd = await cpuNow();
  console.log('CPU µs a job: ' + Object.keys(pids).map((k) => `${k} ${Math.round(((cpuEnd[k]! - cpuAtWarm[k]!) / N) * 1e6)}`).join(', '));
  console.log(`${Math.round((N + 50) / ((performance.now() - started) / 1000))} jobs/s at ${clients} clients`);
  for (const [k, xs] of Object.entries(phases)) console.log(`${k.padEnd(30)} mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} ms`);
  for (const [k, xs] of Object.entries(t)) console.log(`${k.padEnd(20)} p50 ${percentile(xs, 50).toFixed(2)} ms  p90 ${percentile(xs, 90).toFixed(2)} ms  p99 ${percentile(xs, 99).toFixed(2)} ms`);
  // The slowest 1 % of jobs: which phase their time went to (means), beside all jobs' means above.
  const slow = t['total']!.map((ms, i) => [ms, i] as const).sort((a, b) => b[0] - a[0]).slice(0, Math.max(1, Math.floor(N / 100)));
  const tail = Object.entries(phases).map(([k, xs]) => `${k} ${(slow.reduce((a, [, i]) => a + xs[i]!, 0) / slow.length).toFixed(2)}`);
  console.log(`slowest ${slow.length} jobs (total ${(slow.reduce((a, [ms]) => a + ms, 0) / slow.length).toFixed(2)} ms mean): ${tail.join(', ')} ms`);
} finally {
  await closeClients();
  await cluster.stop(nodeArgs ? 'SIGTERM' : 'SIGKILL');
}
