/**
 * Where a request's time goes: job metrics of `Prefer: wait` jobs from TRACE_CLIENTS clients (1: low
 * load), optionally with `--cpu-prof` on the API and worker (TRACE_CPU_PROF=dir). A profiling aid.
 */
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { percentile } from './load.js';

const N = Number(process.env['TRACE_JOBS'] ?? 300);
const nodeArgs = process.env['TRACE_CPU_PROF'] ? { api: ['--cpu-prof', `--cpu-prof-dir=${process.env['TRACE_CPU_PROF']}`], worker: ['--cpu-prof', `--cpu-prof-dir=${process.env['TRACE_CPU_PROF']}`] } : undefined;
const cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp' }, ...(nodeArgs ? { nodeArgs } : {}) });
const t: Record<string, number[]> = { total: [], queue: [], wait: [], inference: [], 'created→completed': [] };
/** means of the phases (ms clocks of one machine; means of many jobs resolve below a millisecond) */
const phases: Record<string, number[]> = { 'sent→created (API in)': [], 'created→started (fetch)': [], 'started→completed (worker)': [], 'completed→answered (API out)': [] };
try {
  const clients = Number(process.env['TRACE_CLIENTS'] ?? 1);
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
  for (let i = next++; i < N + 50; i = next++) {
    const t0 = performance.now();
    const sentAt = Date.now();
    const res = await fetch(`${cluster.url}/v1/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(i, 1, 32)[0] }] }),
    });
    const job = (await res.json()) as any;
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
  console.log(`${Math.round((N + 50) / ((performance.now() - started) / 1000))} jobs/s at ${clients} clients`);
  for (const [k, xs] of Object.entries(phases)) console.log(`${k.padEnd(30)} mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} ms`);
  for (const [k, xs] of Object.entries(t)) console.log(`${k.padEnd(20)} p50 ${percentile(xs, 50).toFixed(2)} ms  p90 ${percentile(xs, 90).toFixed(2)} ms`);
} finally {
  await cluster.stop(nodeArgs ? 'SIGTERM' : 'SIGKILL');
}
