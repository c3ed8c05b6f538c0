/**
 * PURE: how many jobs the runner lets BullMQ hold at once (its `concurrency`, read before each
 * fetch), from what the runner holds now.
 *
 * - Holding nothing after holding one row at a time (`lastPeak` ≤ 1: low load, single-row
 *   jobs one by one): one. BullMQ fetches in sequence and starts no job until it stops fetching, so with
 *   room for more it follows a lone job's fetch with a second one, which finds an empty queue,
 *   before it runs the first: a Redis round trip on every job at low load. With a limit of one
 *   the lone job starts at once; holding it raises the limit (the runner calls this again), so
 *   the next fetch goes out while it runs. Otherwise (`lastPeak` > 1: under load, or larger
 *   jobs) the limit stays up even at a moment with nothing held, so a run's worth of jobs is
 *   fetched together (measured: a limit of one at every such moment cut the mean batch at 64
 *   clients from 32-35 to 28-31; counting jobs instead of rows did too, as the API packs a
 *   turn's requests into one job).
 * - Holding jobs: those held plus as many as the rest of the row budget fits (`rowsPerJob`
 *   being the recent average): many single-row jobs, or a few batch-file chunks. At most `max`.
 */
export interface Holding {
  jobs: number;
  rows: number;
}

/**
 * `lastPeak`: the most rows held at once between the last time the runner held none and the
 * time before (its last busy spell).
 */
export function fetchLimit(held: Holding, rowBudget: number, rowsPerJob: number, max: number, lastPeak: number): number {
  if (held.jobs === 0 && lastPeak <= 1) return 1;
  const room = Math.floor(Math.max(0, rowBudget - held.rows) / Math.max(1, rowsPerJob));
  return Math.min(max, Math.max(1, held.jobs + room));
}
