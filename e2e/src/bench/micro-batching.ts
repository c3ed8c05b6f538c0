/**
 * `npm run bench:batching`: what micro-batching buys, measured in one run on this machine (the
 * README's original scenario). Clients are the benches' undici Pool (client.ts); every service
 * first serves BENCH_WARM_UP_JOBS (4,000) jobs, so its steady state is measured.
 *
 * 1. onnxruntime alone, in this process: rows/s by rows per run, for the shipped MLP
 *    (32-256-256-2) and a wide one (32-2048-2048-2, built here) whose single-row runs are
 *    memory-bound, as with larger models.
 * 2. The whole service (HTTP → Redis → worker → back), one worker, 200 concurrent clients
 *    sending single-row jobs, with micro-batching on and off, for both models.
 * 3. The shipped MLP with 64-row jobs (rows/s).
 * Timings are only comparable within one run: the figures that matter are the ratios.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildMlpModel } from '@maas/model-gen/mlp';
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { modelRepository } from '../harness/model-repo.js';
import { closeClients } from './client.js';
import { mean, percentile, runLoad } from './load.js';
import { rawRowsPerSecond } from './ort.js';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 4000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 200);
const WIDE_HIDDEN = 2048;
const WARM_UP_JOBS = Number(process.env['BENCH_WARM_UP_JOBS'] ?? 4000);

async function service(label: string, model: 'mlp' | 'wide', batching: boolean, rowsPerJob: number, wideModel: Uint8Array) {
  const config = batching ? { max_batch_size: model === 'mlp' ? 1024 : 256, max_queue_delay_ms: 2 } : { max_batch_size: 1 };
  const repo = await modelRepository(model === 'mlp' ? { mlp: config } : {});
  if (model === 'wide') {
    await mkdir(join(repo.dir, 'wide/1'), { recursive: true });
    await writeFile(join(repo.dir, 'wide/1/model.onnx'), wideModel);
    await writeFile(join(repo.dir, 'wide/config.json'), JSON.stringify(config));
  }
  const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: model } });
  try {
    const jobs = model === 'wide' ? Math.min(JOBS, 2000) : JOBS;
    const bodies = Array.from({ length: jobs }, (_, i) => ({
      model,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rowsPerJob, 32], data: rows(i, rowsPerJob, 32).flat() }],
    }));
    // Steady state, not start-up: a fresh API serves its first few thousand jobs far slower
    // (V8 optimising the hot paths, the heap growing; BENCHMARKS.md, round 4), so as in
    // fast-path.ts the service first serves WARM_UP_JOBS jobs at the measured concurrency.
    await runLoad(cluster.url, Array.from({ length: WARM_UP_JOBS }, (_, i) => bodies[i % bodies.length]), CONCURRENCY);
    const r = await runLoad(cluster.url, bodies, CONCURRENCY);
    return {
      label,
      'jobs/s': Math.round(r.jobs / r.seconds),
      'rows/s': Math.round(r.rows / r.seconds),
      'mean batch': Number(mean(r.batchSizes).toFixed(1)),
      'max batch': Math.max(...r.batchSizes),
      'p50 ms': Math.round(percentile(r.latenciesMs, 50)),
      'p99 ms': Math.round(percentile(r.latenciesMs, 99)),
    };
  } finally {
    await cluster.stop();
    await repo.remove();
  }
}

const speedUp = (on: { 'jobs/s': number }, off: { 'jobs/s': number }) => `${(on['jobs/s'] / off['jobs/s']).toFixed(2)}×`;

async function main() {
  console.log(`${JOBS} jobs (2000 for the wide model), ${CONCURRENCY} concurrent clients, 1 worker, all on this machine\n`);
  const wideModel = buildMlpModel(WIDE_HIDDEN);
  const wideDir = await modelRepository({});
  await writeFile(join(wideDir.dir, 'wide.onnx'), wideModel);
  const sizes = [1, 8, 64, 256, 1024];
  const raw = await rawRowsPerSecond(sizes, 1500);
  const rawWide = await rawRowsPerSecond([1, 8, 64, 256], 1500, join(wideDir.dir, 'wide.onnx'));
  await wideDir.remove();
  console.log('onnxruntime in-process (2 intra-op threads), rows/s:');
  console.table(sizes.map((b) => ({
    'rows per run': b,
    'mlp 32-256-256-2': Math.round(raw.get(b)!), 'mlp vs 1 row': `${(raw.get(b)! / raw.get(1)!).toFixed(1)}×`,
    'wide 32-2048-2048-2': rawWide.has(b) ? Math.round(rawWide.get(b)!) : '-', 'wide vs 1 row': rawWide.has(b) ? `${(rawWide.get(b)! / rawWide.get(1)!).toFixed(1)}×` : '-',
  })));
  const mlpOn = await service('mlp, 1-row jobs, batching on (max 1024)', 'mlp', true, 1, wideModel);
  const mlpOff = await service('mlp, 1-row jobs, batching off', 'mlp', false, 1, wideModel);
  const wideOn = await service('wide, 1-row jobs, batching on (max 256)', 'wide', true, 1, wideModel);
  const wideOff = await service('wide, 1-row jobs, batching off', 'wide', false, 1, wideModel);
  const multi = await service('mlp, 64-row jobs, batching on', 'mlp', true, 64, wideModel);
  console.log('whole service (HTTP → Redis → worker → HTTP):');
  console.table([mlpOn, mlpOff, wideOn, wideOff, multi]);
  console.log(`micro-batching speed-up end to end: mlp ${speedUp(mlpOn, mlpOff)}, wide ${speedUp(wideOn, wideOff)}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => closeClients());
