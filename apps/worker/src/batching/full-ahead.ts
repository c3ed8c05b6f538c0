/**
 * PURE: how many full runs a session may hold queued behind the one it runs (Collector
 * `fullAhead`, per instance).
 *
 * A session thread starts a queued run the moment its run ends, so a stall of the main
 * thread (reading a chunk's megabyte from Redis, recording outputs: gaps of 1-5 ms measured
 * between a batch file's runs) does not leave it idle. But a job that arrives meanwhile,
 * however urgent, waits behind the queued ones. So: as many as fit in FULL_AHEAD_MS of
 * predicted compute, at least 1 and at most FULL_AHEAD_MAX. Unknown cost (RunCost still warming
 * up: Infinity) → 1.
 */
export const FULL_AHEAD_MS = 4;
export const FULL_AHEAD_MAX = 4;

export function fullRunsAhead(predictedMs: number): number {
  if (Number.isNaN(predictedMs)) return 1;
  if (predictedMs <= 0) return FULL_AHEAD_MAX;
  return Math.max(1, Math.min(FULL_AHEAD_MAX, Math.floor(FULL_AHEAD_MS / predictedMs)));
}
