/**
 * How often the API and the worker sample their event loop's delay for prom-client's
 * default process metrics (its `eventLoopMonitoringPrecision`): every 100 ms instead of
 * prom-client's 10 ms. The 10 ms timer woke an idle process a hundred times a second.
 * Measured here, idle: the API's main thread 100 → 12–16 wake-ups a second and 6.3–7.5 →
 * 1.3–5 ms of CPU a second; the worker's 106–110 → 22–23 wake-ups. One-client latency did not move (two A/B
 * runs: p50 4.07 / 4.10 against 4.05 / 4.06 ms). What it costs: the `eventloop_lag`
 * histograms see stalls longer than about 100 ms, no longer the shorter ones.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;
