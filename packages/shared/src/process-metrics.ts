/**
 * How often the API and the worker sample their event loop's delay for prom-client's
 * default process metrics (its `eventLoopMonitoringPrecision`): every 100 ms instead of
 * prom-client's 10 ms. The 10 ms timer woke an idle process a hundred times a second.
 * Measured here, idle: the API's main thread 100 → 12–16 wake-ups a second and 6.3–7.5 →
 * 1.3–5 ms of CPU a second; the worker's 106–110 → 22–23 wake-ups. One-client latency did not move (two A/B
 * runs: p50 4.07 / 4.10 against 4.05 / 4.06 ms). Node's delay histogram records each
 * sample's whole interval, so every /metrics (the API's, a worker's health port) takes the
 * 100 ms off the `eventloop_lag` summaries (`withoutSampleInterval`); a stall shorter than
 * the interval shows in them only as part of one.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Buckets (seconds) of the request and job latency histograms: fine where this cluster's added
 * latency lives (0.5-10 ms: a p99 SLO of a few ms reads between 2.5, 5 and 7.5 ms, not 1 and 5),
 * then out to a minute for queued work.
 */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A registry's metrics as prom-client's getMetricsAsJSON gives them. */
export type MetricsJson = { name?: string; aggregator?: string; values?: { labels?: Record<string, unknown>; value?: number }[] }[];

/** prom-client's event-loop delay histogram summaries (not `_lag_seconds`, measured apart; not `_stddev`). */
const DELAY_SUMMARY = /_nodejs_eventloop_lag_(min|max|mean|p50|p90|p99)_seconds$/;

/**
 * PURE: `metrics` with EVENT_LOOP_SAMPLE_MS taken off the event-loop delay summaries. Node's
 * delay histogram records each sample's whole interval, so an idle process read 0.1 s of lag,
 * and an alert on lag p99 > 0.1 s would always fire; what is left is the delay past the timer.
 */
export function withoutSampleInterval<M extends MetricsJson>(metrics: M): M {
  const interval = EVENT_LOOP_SAMPLE_MS / 1000;
  return metrics.map((m) => (m.name && DELAY_SUMMARY.test(m.name)
    ? { ...m, values: (m.values ?? []).map((v) => ({ ...v, value: Math.max(0, (v.value ?? 0) - interval) })) }
    : m)) as M;
}

/**
 * PURE: a registry's metrics as every /metrics (the API's merge, a worker's health port) gives
 * them, through prom-client's `AggregatorRegistry.aggregate`: the event-loop delay without the
 * sample interval (`withoutSampleInterval`), and every metric kept. prom-client marks
 * `process_start_time_seconds` `omit`, which `aggregate` drops: uptime and restart alerts had
 * nothing to read. Each process's metrics have names or labels of their own (`worker`), so
 * `first` keeps each value as it is.
 */
export function forExposition<M extends MetricsJson>(metrics: M): M {
  return withoutSampleInterval(metrics).map((m) => (m.aggregator === 'omit' ? { ...m, aggregator: 'first' } : m)) as M;
}
