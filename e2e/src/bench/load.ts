/** A closed-loop load generator: `concurrency` clients each submit jobs and wait for them. */
import { post } from './client.js';

export interface LoadResult {
  jobs: number;
  rows: number;
  seconds: number;
  batchSizes: number[];
  latenciesMs: number[];
}

export async function runLoad(url: string, bodies: unknown[], concurrency: number): Promise<LoadResult> {
  const batchSizes: number[] = [];
  const latenciesMs: number[] = [];
  let rows = 0;
  const rate = await closedLoopRate(bodies.length, concurrency, async (i) => {
    const start = performance.now();
    const job = await post(`${url}/v1/jobs`, bodies[i], { Prefer: 'wait=60' });
    if (job?.status !== 'succeeded') throw new Error(`job failed: ${JSON.stringify(job).slice(0, 300)}`);
    latenciesMs.push(performance.now() - start);
    batchSizes.push(job.metrics.batch_size);
    rows += job.outputs[0].shape[0];
  });
  return { jobs: bodies.length, rows, seconds: bodies.length / rate, batchSizes, latenciesMs };
}

/** `count` requests from `clients` closed-loop clients (each sends the next index once its answer is in); requests/s. */
export async function closedLoopRate(count: number, clients: number, send: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = next++; i < count; i = next++) await send(i);
  }));
  return count / ((performance.now() - t0) / 1000);
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}
