/**
 * PURE: the order BullMQ hands jobs out in, for the collector to keep (see collector.ts).
 *
 * BullMQ runs the lowest priority number first (none, or 0, before any), and jobs of equal
 * priority first come, first served. Chunks of one batch go by their index: the API queues
 * several at once, so their timestamps may tie or land out of order. With several tenants the
 * API folds each job's fair-share turn into its BullMQ priority (api fairness/lanes.ts), so
 * keeping this order keeps the tenants taking turns.
 */
export interface QueuedJob {
  /** BullMQ priority; undefined or 0 is "before all" */
  priority?: number;
  /** enqueue time, ms */
  timestamp: number;
  batch?: { id: string; chunk: number };
}

export function queueOrder(a: QueuedJob, b: QueuedJob): number {
  const byPriority = (a.priority ?? 0) - (b.priority ?? 0);
  if (byPriority !== 0) return byPriority;
  if (a.batch && b.batch && a.batch.id === b.batch.id) return a.batch.chunk - b.batch.chunk;
  return a.timestamp - b.timestamp;
}
