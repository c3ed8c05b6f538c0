/**
 * MissedFailures: final failures BullMQ decided on its own (the stall limit, retries used up)
 * reach the ledger through the 'failed' event of the worker that moved the job to BullMQ's
 * failed set, just after BullMQ stored it (JobEndings.failedElsewhere). A worker killed in that
 * instant would leave the job failed with no job.completed and its chunk unrecorded (its batch
 * never completing). So each runner looks through its queue's failed set now and then: every
 * job with a webhook or a batch that failed since its last look (and a grace period ago, so the
 * live worker's own record normally comes first) is recorded again. Recording twice is
 * harmless: the first ending recorded wins, and an event keeps its one `webhook-id`.
 *
 * On start the look goes back `MISSED_FAILURES.lookbackMs` (an hour), so a worker started after the crash finds what the
 * dead one missed. Failed jobs are rare; a look is one ZRANGEBYSCORE and nothing more when
 * none failed.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullFailedKey, Periodic, type InferenceJobData, type InferenceJobResult, type Logger } from '@maas/shared';

type InferenceJob = Job<InferenceJobData, InferenceJobResult>;

/** How often a runner looks, how long a failure is left to its own worker first, how far back the first look goes. */
export const MISSED_FAILURES = { periodMs: 5_000, graceMs: 3_000, lookbackMs: 3_600_000 };

export interface MissedFailuresDeps {
  queueName: string;
  redis: Redis;
  /** the job as BullMQ stores it, or undefined when it is gone */
  fetch(id: string): Promise<InferenceJob | undefined>;
  /** records the job's final failure with the ledger (idempotent) */
  record(job: InferenceJob): Promise<void>;
  log: Logger;
}

export class MissedFailures {
  private readonly timer: Periodic;
  /** failures finished at or before this (epoch ms) have been looked at */
  private seenUntil: number;

  constructor(
    private readonly d: MissedFailuresDeps,
    private readonly t = MISSED_FAILURES,
  ) {
    this.seenUntil = Date.now() - t.lookbackMs;
    this.timer = new Periodic(() => this.look(), t.periodMs, (err, failures) => d.log.warn({ err, failures }, 'could not look for missed final failures'));
  }

  start(): void {
    this.timer.start();
  }

  /** One look: records the webhook and batch jobs that failed since the last one. */
  async look(): Promise<number> {
    const until = Date.now() - this.t.graceMs;
    const ids = await this.d.redis.zrangebyscore(bullFailedKey(this.d.queueName), `(${this.seenUntil}`, until);
    let recorded = 0;
    for (const id of ids) {
      const job = await this.d.fetch(id);
      if (!job || !(job.data.webhook || job.data.batch)) continue;
      await this.d.record(job);
      recorded++;
    }
    this.seenUntil = until;
    return recorded;
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }
}
