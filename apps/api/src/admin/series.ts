/**
 * PURE: throughput and formed batch sizes over the last minutes, from periodic samples of the
 * workers' cumulative counters (the metrics each worker publishes with its heartbeat).
 *
 * A sample keeps, per worker and model, jobs finished, ONNX runs and rows in those runs.
 * Between two samples the differences of each worker present in both give jobs/s and rows per
 * run. A worker missing from either sample adds nothing to that interval: a sample that could
 * not read a worker (a Redis stall, a heartbeat gap) followed by one that could must not count
 * every job since that worker started as new (an observability audit saw a burst of 38 runs
 * that never happened). A worker that restarts under the same id makes its counts drop: that
 * difference counts as 0, never negative.
 */

export interface Counts {
  jobs: number;
  failed: number;
  runs: number;
  rows: number;
}

export interface Sample {
  at: number;
  /** worker id → model → its cumulative counts */
  byWorker: Record<string, Record<string, Counts>>;
}

export interface Point {
  at: number;
  jobs_per_s: number;
  failed_per_s: number;
  runs: number;
  /** average rows per ONNX run in the interval (null when no run) */
  avg_batch_rows: number | null;
}

export interface ModelWindow {
  jobs_per_s: number;
  runs: number;
  avg_batch_rows: number | null;
}

interface MetricJson {
  name: string;
  values?: { value: number; labels?: Record<string, string | number>; metricName?: string }[];
}

const zero = (): Counts => ({ jobs: 0, failed: 0, runs: 0, rows: 0 });

/** One sample from the workers' `getMetricsAsJSON()` outputs, by worker id. */
export function sampleFromMetrics(workers: readonly { id: string; metrics: unknown }[], at: number): Sample {
  const byWorker: Sample['byWorker'] = {};
  for (const { id, metrics } of workers) {
    if (!Array.isArray(metrics)) continue;
    const byModel: Record<string, Counts> = (byWorker[id] ??= {});
    const of = (model: unknown) => (byModel[String(model)] ??= zero());
    for (const m of metrics as MetricJson[]) {
      for (const v of m.values ?? []) {
        const model = v.labels?.['model'];
        if (model === undefined) continue;
        if (m.name === 'maas_jobs_processed_total') {
          of(model).jobs += v.value;
          if (v.labels?.['outcome'] === 'failed' || v.labels?.['outcome'] === 'expired') of(model).failed += v.value;
        } else if (m.name === 'maas_run_rows') {
          if (v.metricName === 'maas_run_rows_count') of(model).runs += v.value;
          else if (v.metricName === 'maas_run_rows_sum') of(model).rows += v.value;
        }
      }
    }
  }
  return { at, byWorker };
}

const delta = (a: number, b: number) => Math.max(0, b - a);

const add = (sum: Counts, d: Counts) => {
  sum.jobs += d.jobs;
  sum.failed += d.failed;
  sum.runs += d.runs;
  sum.rows += d.rows;
};

/** Per model, what the workers present in both samples did between them. */
function byModelBetween(a: Sample, b: Sample): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const [worker, now] of Object.entries(b.byWorker)) {
    const before = a.byWorker[worker];
    if (!before) continue;
    for (const [model, y] of Object.entries(now)) {
      const x = before[model] ?? zero();
      add((out[model] ??= zero()), { jobs: delta(x.jobs, y.jobs), failed: delta(x.failed, y.failed), runs: delta(x.runs, y.runs), rows: delta(x.rows, y.rows) });
    }
  }
  return out;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Cluster-wide points, one per interval between consecutive samples. */
export function series(samples: readonly Sample[]): Point[] {
  const points: Point[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const s = Math.max(0.001, (b.at - a.at) / 1000);
    const d = zero();
    for (const counts of Object.values(byModelBetween(a, b))) add(d, counts);
    points.push({ at: b.at, jobs_per_s: round(d.jobs / s), failed_per_s: round(d.failed / s), runs: d.runs, avg_batch_rows: d.runs ? round(d.rows / d.runs, 1) : null });
  }
  return points;
}

/** Per model over the whole window (first to last sample). */
export function windowByModel(samples: readonly Sample[]): Record<string, ModelWindow> {
  const out: Record<string, ModelWindow> = {};
  if (samples.length < 2) return out;
  const sums: Record<string, Counts> = {};
  for (let i = 1; i < samples.length; i++) {
    for (const [model, d] of Object.entries(byModelBetween(samples[i - 1]!, samples[i]!))) add((sums[model] ??= zero()), d);
  }
  const s = Math.max(0.001, (samples.at(-1)!.at - samples[0]!.at) / 1000);
  for (const [model, sum] of Object.entries(sums)) {
    out[model] = { jobs_per_s: round(sum.jobs / s), runs: sum.runs, avg_batch_rows: sum.runs ? round(sum.rows / sum.runs, 1) : null };
  }
  return out;
}
