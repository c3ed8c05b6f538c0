/**
 * PURE: how many jobs the runner lets BullMQ hold at once (its `concurrency`, read before each
 * fetch), from what the runner holds now.
 *
 * - Low load (`lastPeak` ≤ 1: single-row jobs one by one lately), holding nothing, or one
 *   single-row job that runs at once and briefly (`quick`: it arrived after the runner held
 *   nothing for IDLE_BEFORE_QUICK_MS, and finds no window to wait in, a free instance, a run
 *   predicted short enough for the main thread): one. BullMQ fetches in
 *   sequence and starts no job until it stops fetching, so with room for more it follows a lone
 *   job's fetch with a second one, which finds an empty queue (and then blocks for the next):
 *   two Redis round trips on every job at low load, ahead of the job's run on the worker's one
 *   thread. With a limit of one the lone job runs at once, and the next job comes with its
 *   completion (BullMQ's completion script fetches the next one when the limit allows); when
 *   that next job was already waiting (a backlog: the runner counts it in `lastPeak`, see
 *   runner.ts) the limit goes up at once. Only for a job that ends soon: BullMQ looks at the
 *   limit again only when a job it holds ends, so a job waiting for company (a window, a busy
 *   instance) must not hold the limit at one.
 *   Measured side by side in one cluster at one client: p50 0.07-0.19 ms and p90 0.1-0.3 ms
 *   lower, one script a job fewer (BENCHMARKS.md round 12).
 * - Otherwise (`lastPeak` > 1: under load, or larger jobs) the limit stays up even at a moment
 *   with nothing held, so a run's worth of jobs is fetched together (measured: a limit of one
 *   at every such moment cut the mean run at 64 clients from 32-35 to 28-31; counting jobs
 *   instead of rows did too, as the API packs a turn's requests into one job).
 * - Holding jobs: those held plus as many as the rest of the row budget fits (`rowsPerJob`
 *   being the recent average): many single-row jobs, or a few batch-file chunks. At most `max`.
 *
 * The limit is a count of jobs, and jobs differ in size: after small jobs, a limit sized by their
 * average lets one fetching streak (BullMQ fetches up to the limit before it starts any) take
 * the batch chunks queued behind them too, every one (a spot-instance audit: one worker held all
 * seven chunks of a batch, workers started later sat idle, and its drain outlasted its grace).
 * So a batch chunk that would take the rows held past the budget is handed back (`handsBack`;
 * runner.ts asks it of chunks only).
 */
/**
 * How long a runner must have held nothing for a single-row job to count as `quick`. At one
 * client a job arrives 2-3 ms after the last one ended; under load, within a fraction of a
 * millisecond, and a limit of one at such moments cost 5-10 % of the jobs/s at 64 clients
 * (paired runs in one cluster, BENCHMARKS.md round 12).
 */
export const IDLE_BEFORE_QUICK_MS = 1;

export interface Holding {
  jobs: number;
  rows: number;
  /** the one job held is a single row that runs at once and briefly (see above) */
  quick?: boolean;
}

/**
 * `lastPeak`: the most rows held at once between the last time the runner held none and the
 * time before (its last busy spell), or more when the runner saw a backlog.
 */
export function fetchLimit(held: Holding, rowBudget: number, rowsPerJob: number, max: number, lastPeak: number): number {
  if (lastPeak <= 1 && (held.jobs === 0 || (held.jobs === 1 && held.rows <= 1 && held.quick))) return 1;
  const room = Math.floor(Math.max(0, rowBudget - held.rows) / Math.max(1, rowsPerJob));
  return Math.min(max, Math.max(1, held.jobs + room));
}

/**
 * Whether a job of `rows` just fetched goes back to its queue unstarted: it would take the rows
 * held past `rowBudget` while others are held (a worker holding nothing takes any job, so no job
 * waits for ever). A job larger than half the budget is kept all the same: it could fit beside
 * another only at moments a busy worker seldom has, and handed back each time it would wait
 * behind smaller ones for as long as they come. Batch chunks are never that large (the budget
 * holds two).
 */
export function handsBack(held: Holding, rows: number, rowBudget: number): boolean {
  return held.jobs > 0 && held.rows + rows > rowBudget && 2 * rows <= rowBudget;
}
