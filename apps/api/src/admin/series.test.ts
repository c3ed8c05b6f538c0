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
  it('keeps jobs, failures, runs and rows per worker and model', () => {
    const s = sampleFromMetrics([{ id: 'a', metrics: worker('mlp', 10, 1, 4, 40) }, { id: 'b', metrics: [...worker('mlp', 5, 0, 1, 8), ...worker('penguins', 2, 0, 2, 2)] }, { id: 'c', metrics: 'junk' }], 1000);
    expect(s.byWorker).toEqual({
      a: { mlp: { jobs: 11, failed: 1, runs: 4, rows: 40 } },
      b: { mlp: { jobs: 5, failed: 0, runs: 1, rows: 8 }, penguins: { jobs: 2, failed: 0, runs: 2, rows: 2 } },
    });
  });
});

describe('series and windowByModel', () => {
  const counts = (c: [number, number, number, number]) => ({ jobs: c[0], failed: c[1], runs: c[2], rows: c[3] });
  const at = (t: number, mlp: [number, number, number, number], other?: [number, number, number, number]): Sample => ({
    at: t * 1000, byWorker: { w1: { mlp: counts(mlp) }, ...(other ? { w2: { mlp: counts(other) } } : {}) },
  });

  it('turns cumulative counts into rates and average batch sizes per interval', () => {
    const samples = [at(0, [0, 0, 0, 0]), at(10, [100, 2, 10, 80]), at(20, [100, 2, 10, 80])];
    expect(series(samples)).toEqual([
      { at: 10_000, jobs_per_s: 10, failed_per_s: 0.2, runs: 10, avg_batch_rows: 8 },
      { at: 20_000, jobs_per_s: 0, failed_per_s: 0, runs: 0, avg_batch_rows: null },
    ]);
    expect(windowByModel(samples)).toEqual({ mlp: { jobs_per_s: 5, runs: 10, avg_batch_rows: 8 } });
  });

  it('adds the workers up, each from its own counts', () => {
    expect(series([at(0, [0, 0, 0, 0], [500, 0, 50, 500]), at(10, [30, 0, 3, 30], [570, 0, 57, 570])])[0]).toMatchObject({ jobs_per_s: 10, runs: 10, avg_batch_rows: 10 });
  });

  it('never reports a negative rate when a worker restarts', () => {
    expect(series([at(0, [50, 0, 5, 50]), at(10, [3, 0, 1, 4])])[0]).toMatchObject({ jobs_per_s: 0, runs: 0 });
  });

  it("counts nothing of a worker missing from either sample: one that could not be read (a Redis stall) is no burst of every job since it started", () => {
    const unread: Sample = { at: 10_000, byWorker: {} };
    const points = series([at(0, [900, 10, 90, 900]), unread, at(20, [900, 10, 90, 900]), at(30, [910, 10, 91, 910])]);
    expect(points.map((p) => p.jobs_per_s)).toEqual([0, 0, 1]);
    expect(points.map((p) => p.runs)).toEqual([0, 0, 1]);
    expect(windowByModel([at(0, [900, 10, 90, 900]), unread, at(20, [900, 10, 90, 900]), at(30, [910, 10, 91, 910])])).toEqual({ mlp: { jobs_per_s: 0.33, runs: 1, avg_batch_rows: 10 } });
  });

  it('needs two samples', () => {
    expect(series([at(0, [1, 0, 1, 1])])).toEqual([]);
    expect(windowByModel([])).toEqual({});
  });
});
