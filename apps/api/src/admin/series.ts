/**
 * PURE: throughput and formed batch sizes over the last minutes, from periodic samples of the
 * workers' cumulative counters (the metrics each worker publishes with its heartbeat).
 *
 * A sample sums, per model, jobs finished, ONNX runs and rows in those runs across the live
 * workers. Between two samples the differences give jobs/s and rows per run. A worker that
 * restarts or leaves makes a sum drop: such a difference counts as 0, never negative.
 */

export interface Counts {
  jobs: number;
  failed: number;
  runs: number;
  rows: number;
}

export interface Sample {
  at: number;
  byModel: Record<string, Counts>;
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

/** One sample from the workers' `getMetricsAsJSON()` outputs. */
export function sampleFromMetrics(workers: unknown[], at: number): Sample {
  const byModel: Record<string, Counts> = {};
  const of = (model: unknown) => (byModel[String(model)] ??= zero());
  for (const metrics of workers) {
    if (!Array.isArray(metrics)) continue;
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
  return { at, byModel };
}

const delta = (a: number, b: number) => Math.max(0, b - a);

function diff(a: Counts | undefined, b: Counts | undefined): Counts {
  const x = a ?? zero();
  const y = b ?? zero();
  return { jobs: delta(x.jobs, y.jobs), failed: delta(x.failed, y.failed), runs: delta(x.runs, y.runs), rows: delta(x.rows, y.rows) };
}

function total(a: Sample, b: Sample): Counts {
  const sum = zero();
  for (const model of new Set([...Object.keys(a.byModel), ...Object.keys(b.byModel)])) {
    const d = diff(a.byModel[model], b.byModel[model]);
    sum.jobs += d.jobs;
    sum.failed += d.failed;
    sum.runs += d.runs;
    sum.rows += d.rows;
  }
  return sum;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Cluster-wide points, one per interval between consecutive samples. */
export function series(samples: readonly Sample[]): Point[] {
  const points: Point[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const s = Math.max(0.001, (b.at - a.at) / 1000);
    const d = total(a, b);
    points.push({ at: b.at, jobs_per_s: round(d.jobs / s), failed_per_s: round(d.failed / s), runs: d.runs, avg_batch_rows: d.runs ? round(d.rows / d.runs, 1) : null });
  }
  return points;
}

/** Per model over the whole window (first to last sample). */
export function windowByModel(samples: readonly Sample[]): Record<string, ModelWindow> {
  const out: Record<string, ModelWindow> = {};
  if (samples.length < 2) return out;
  const models = new Set(samples.flatMap((s) => Object.keys(s.byModel)));
  for (const model of models) {
    let sum = zero();
    for (let i = 1; i < samples.length; i++) {
      const d = diff(samples[i - 1]!.byModel[model], samples[i]!.byModel[model]);
      sum = { jobs: sum.jobs + d.jobs, failed: sum.failed + d.failed, runs: sum.runs + d.runs, rows: sum.rows + d.rows };
    }
    const s = Math.max(0.001, (samples.at(-1)!.at - samples[0]!.at) / 1000);
    out[model] = { jobs_per_s: round(sum.jobs / s), runs: sum.runs, avg_batch_rows: sum.runs ? round(sum.rows / sum.runs, 1) : null };
  }
  return out;
}
