import { describe, expect, it } from 'vitest';
import { sampleFromMetrics, series, windowByModel, type Sample } from './series.js';

/** What prom-client's getMetricsAsJSON gives for one worker. */
const worker = (model: string, jobs: number, failed: number, runs: number, rows: number) => [
  { name: 'maas_jobs_processed_total', values: [
    { value: jobs, labels: { model, version: '1', outcome: 'succeeded' } },
    { value: failed, labels: { model, version: '1', outcome: 'failed' } },
  ] },
  { name: 'maas_run_rows', values: [
    { value: runs, labels: { model, version: '1' }, metricName: 'maas_run_rows_count' },
    { value: rows, labels: { model, version: '1' }, metricName: 'maas_run_rows_sum' },
    { value: runs, labels: { model, version: '1', le: 8 }, metricName: 'maas_run_rows_bucket' },
  ] },
  { name: 'process_cpu_seconds_total', values: [{ value: 3 }] },
];

describe('sampleFromMetrics', () => {
  it('sums jobs, failures, runs and rows per model across workers', () => {
    const s = sampleFromMetrics([worker('mlp', 10, 1, 4, 40), worker('mlp', 5, 0, 1, 8), worker('penguins', 2, 0, 2, 2), 'junk'], 1000);
    expect(s.byModel).toEqual({ mlp: { jobs: 16, failed: 1, runs: 5, rows: 48 }, penguins: { jobs: 2, failed: 0, runs: 2, rows: 2 } });
  });
});

describe('series and windowByModel', () => {
  const at = (t: number, mlp: [number, number, number, number]): Sample => ({
    at: t * 1000, byModel: { mlp: { jobs: mlp[0], failed: mlp[1], runs: mlp[2], rows: mlp[3] } },
  });

  it('turns cumulative counts into rates and average batch sizes per interval', () => {
    const samples = [at(0, [0, 0, 0, 0]), at(10, [100, 2, 10, 80]), at(20, [100, 2, 10, 80])];
    expect(series(samples)).toEqual([
      { at: 10_000, jobs_per_s: 10, failed_per_s: 0.2, runs: 10, avg_batch_rows: 8 },
      { at: 20_000, jobs_per_s: 0, failed_per_s: 0, runs: 0, avg_batch_rows: null },
    ]);
    expect(windowByModel(samples)).toEqual({ mlp: { jobs_per_s: 5, runs: 10, avg_batch_rows: 8 } });
  });

  it('never reports a negative rate when a worker restarts', () => {
    expect(series([at(0, [50, 0, 5, 50]), at(10, [3, 0, 1, 4])])[0]).toMatchObject({ jobs_per_s: 0, runs: 0 });
  });

  it('needs two samples', () => {
    expect(series([at(0, [1, 0, 1, 1])])).toEqual([]);
    expect(windowByModel([])).toEqual({});
  });
});
