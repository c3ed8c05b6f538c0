/**
 * PURE: which jobs of a run are checked for a cancel before their outputs count. A job never
 * checked (a batch-file chunk: its batch may have been canceled) is checked at its first run;
 * a job is checked again only once `everyMs` have passed since its last check (a single job's
 * fetch counts as one: see runner.ts), so neither a lone job nor a chunk spread over many runs
 * (8,192 rows are 8 to 128 runs, by the model's `max_batch_size`) waits for a Redis round trip per run. A cancel
 * is therefore seen within `everyMs` of a job's last check; one that comes later finds the job
 * already computing, and it finishes.
 */
export const CANCEL_RECHECK_MS = 50;

export interface CancelChecked {
  /** when a run last checked this job for a cancel (performance.now()) */
  cancelCheckedAt?: number;
}

/** The jobs (each once) due for a check at `now`, marked as checked at `now`. */
export function dueForCancelCheck<T extends CancelChecked>(jobs: Iterable<T>, now: number, everyMs = CANCEL_RECHECK_MS): T[] {
  const due = [...new Set(jobs)].filter((t) => t.cancelCheckedAt === undefined || now - t.cancelCheckedAt >= everyMs);
  for (const t of due) t.cancelCheckedAt = now;
  return due;
}
