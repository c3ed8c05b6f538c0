/**
 * PURE but for the clock: RecentJobs keeps, for the jobs this process queued lately, what a
 * job's record holds besides its result (its data without inputs, its creation time), so that
 * a waiter answers from BullMQ's completion event without reading the job back (jobs.ts
 * `settledRecord`). A hint, never the truth: a job it no longer holds is read back from Redis.
 *
 * Bounded three ways, oldest out first: entries, age, and bytes. The bytes are what an entry
 * may carry beyond a fixed size: metadata, a job's own and each packed member's (up to 8 KiB
 * each, and a carrier may hold as many members as `max_batch_size` rows): 5,000 carriers of
 * 16 members with 7 KB each held 112 MB, for good, before this bound (the heap audit).
 */
import { metadataBytes, type SettledRecord } from '@maas/shared';

export interface RecentJobsLimits {
  entries: number;
  /** bytes of metadata (as JSON) held in all */
  bytes: number;
  /** how long an entry is kept (ms) */
  ms: number;
}

export const RECENT_JOBS_LIMITS: RecentJobsLimits = { entries: 5_000, bytes: 16 * 1024 * 1024, ms: 60_000 };

export type RecentJob = Pick<SettledRecord, 'timestamp' | 'data'>;

export class RecentJobs {
  /** insertion-ordered: the oldest first */
  private readonly jobs = new Map<string, { at: number; bytes: number; job: RecentJob }>();
  private bytes = 0;

  constructor(private readonly limits: RecentJobsLimits = RECENT_JOBS_LIMITS, private readonly now: () => number = Date.now) {}

  add(id: string, job: RecentJob): void {
    const bytes = metadataBytes(job.data, this.limits.bytes);
    if (bytes > this.limits.bytes) return;
    this.drop(id);
    this.jobs.set(id, { at: this.now(), bytes, job });
    this.bytes += bytes;
    this.prune();
  }

  get(id: string): RecentJob | undefined {
    const e = this.jobs.get(id);
    return e && this.now() - e.at < this.limits.ms ? e.job : undefined;
  }

  /** Drops the oldest entries past any bound (also called on a timer, so an idle process lets them go). */
  prune(): void {
    const now = this.now();
    for (const [id, e] of this.jobs) {
      if (this.jobs.size <= this.limits.entries && this.bytes <= this.limits.bytes && now - e.at < this.limits.ms) break;
      this.drop(id);
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.jobs.size, bytes: this.bytes };
  }

  private drop(id: string): void {
    const e = this.jobs.get(id);
    if (!e) return;
    this.jobs.delete(id);
    this.bytes -= e.bytes;
  }
}
