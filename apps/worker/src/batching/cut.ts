/**
 * PURE: cutting the next run (the rows of one ONNX session run) out of the pending jobs.
 *
 * Jobs are taken in the order the collector keeps them (queue order: priority, then arrival;
 * collector.ts). A job with more rows than fit is split: its first rows go
 * in this run and the rest stays at the head for the next one (Triton would reject such a
 * job; we spread it over runs). Only jobs whose tensors agree on every dimension but the
 * first (rows) can share a run, so a run holds the head job's `shapeKey` group; others keep
 * their place.
 */

export interface PendingJob<J> {
  job: J;
  rows: number;
  /** rows already handed to a run */
  taken: number;
  /** jobs with equal keys can be concatenated along the first dimension */
  shapeKey: string;
  /** when the job reached the collector (clock ms) */
  arrivedAt: number;
}

export interface Slice<J> {
  job: J;
  /** row range of the job served by this slice */
  start: number;
  end: number;
  /** row offset of this slice inside the run */
  offset: number;
}

/**
 * The most rows to run now: `maxRows`, or the largest preferred size that the
 * available rows fill (Triton's preferred_batch_size), or everything available.
 */
export function runCap(available: number, maxRows: number, preferred: readonly number[]): number {
  const limit = Math.min(available, maxRows);
  let best = 0;
  for (const p of preferred) if (p <= limit && p > best) best = p;
  return best > 0 ? best : limit;
}

/** Rows waiting in `pending` that could join a run led by the head job. */
export function compatibleRows<J>(pending: readonly PendingJob<J>[]): number {
  const head = pending[0];
  if (!head) return 0;
  let rows = 0;
  for (const p of pending) if (p.shapeKey === head.shapeKey) rows += p.rows - p.taken;
  return rows;
}

/**
 * Removes up to `cap` rows from `pending` (mutating it) and returns the slices.
 * `cap` 0 means "the head job alone, whole" (models that cannot batch).
 */
export function cutRun<J>(pending: PendingJob<J>[], cap: number): Slice<J>[] {
  const head = pending[0];
  if (!head) return [];
  if (cap === 0) {
    pending.shift();
    return [{ job: head.job, start: head.taken, end: head.rows, offset: 0 }];
  }
  const slices: Slice<J>[] = [];
  let offset = 0;
  for (let i = 0; i < pending.length && offset < cap; ) {
    const p = pending[i]!;
    if (p.shapeKey !== head.shapeKey) {
      i++;
      continue;
    }
    const n = Math.min(p.rows - p.taken, cap - offset);
    slices.push({ job: p.job, start: p.taken, end: p.taken + n, offset });
    offset += n;
    p.taken += n;
    if (p.taken === p.rows) pending.splice(i, 1);
    else i++;
  }
  return slices;
}
