/**
 * How often the API and the worker sample their event loop's delay for prom-client's
 * default process metrics (its `eventLoopMonitoringPrecision`): every 100 ms instead of
 * prom-client's 10 ms. The 10 ms timer woke an idle process a hundred times a second.
 * Measured here, idle: the API's main thread 100 → 12–16 wake-ups a second and 6.3–7.5 →
 * 1.3–5 ms of CPU a second; the worker's 106–110 → 22–23 wake-ups. One-client latency did not move (two A/B
 * runs: p50 4.07 / 4.10 against 4.05 / 4.06 ms). Node's delay histogram records each
 * sample's whole interval, so the API's /metrics takes the 100 ms off the `eventloop_lag`
 * summaries (metrics.ts `withoutSampleInterval`); a stall shorter than the interval shows in
 * them only as part of one.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;
