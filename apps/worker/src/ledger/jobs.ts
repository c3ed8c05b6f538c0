/**
 * JobLedger: the worker's side of the ledger for jobs (packages/shared/src/ledger). Every
 * ending of a job that has a webhook is recorded here before BullMQ settles the job, with its
 * job.completed in the same atomic step; job.start goes through the same outbox. The first
 * ending recorded wins (a cancel, a run before a crash): `end` says which, and the runner
 * settles the job that way.
 *
 * Fast path: the endings (and starts) of one event-loop turn — a micro-batch — leave as ONE
 * script call per queue, and a job with no webhook and no batch costs no Redis call at all
 * (BullMQ's own completion is its ending). The entries a call queued are relayed at once
 * (OutboxRelay), and by a sweeper after OUTBOX_LEASE_MS if this process dies first.
 */
import type { Redis } from 'ioredis';
import {
  dieAt, recordJobEndings, recordJobStarts, registerOutbox, type JobEndingInput, type OutboxRelay, type Recorded,
  type WebhookEventInput, whileRefused,
} from '@maas/shared';
import { completedEvent, ledgerEnding, startEvent, type EndingJob, type JobEnd } from './endings.js';
import { TurnCoalescer } from './turn-coalescer.js';

export class JobLedger {
  private readonly registered = new Set<string>();
  private readonly endings: TurnCoalescer<JobEndingInput, Recorded>;
  private readonly starts: TurnCoalescer<{ jobId: string; event: WebhookEventInput }, null>;

  constructor(
    private readonly redis: Redis,
    private readonly relay: OutboxRelay,
  ) {
    // A Redis refusing writes for a while (out of memory) is waited out (whileRefused): the
    // endings are made, and each refusal would cost their jobs an attempt.
    this.endings = new TurnCoalescer(async (queueName, inputs) => {
      const { recorded, items } = await whileRefused(async () => {
        await this.register(queueName);
        return recordJobEndings(this.redis, queueName, inputs);
      });
      if (items.length > 0) dieAt('job-ended');
      void this.relay.relay(queueName, items);
      return recorded;
    });
    this.starts = new TurnCoalescer(async (queueName, inputs) => {
      void this.relay.relay(queueName, await whileRefused(async () => {
        await this.register(queueName);
        return recordJobStarts(this.redis, queueName, inputs);
      }));
      return inputs.map(() => null);
    });
  }

  /** Lists a queue's outbox for the sweepers, once per process, before its first entry. */
  private async register(queueName: string): Promise<void> {
    if (this.registered.has(queueName)) return;
    await registerOutbox(this.redis, queueName);
    this.registered.add(queueName);
  }

  /** True when a job's ending is recorded here (it has a webhook); others end through BullMQ alone. */
  static records(job: EndingJob): boolean {
    return job.data.webhook !== undefined;
  }

  /**
   * Records `job` ending with `end`, unless an ending is recorded already; resolves with the
   * ledger's verdict. Rejects when Redis failed: nothing is recorded, the job may be retried.
   */
  end(job: EndingJob, end: JobEnd): Promise<Recorded> {
    if (!JobLedger.records(job)) return Promise.resolve({ won: true });
    const result = end.state === 'completed' ? JSON.stringify(end.result) : undefined; // as BullMQ will store it
    return this.endings.add(job.queueName, { jobId: job.id, ending: ledgerEnding(end), event: completedEvent(job, end), result });
  }

  /**
   * Queues `job`'s job.start (if its webhook wants it) unless it has ended.
   * Rejects when Redis failed: the runner then lets BullMQ retry the job, so no start is lost.
   */
  async started(job: EndingJob): Promise<void> {
    const event = startEvent(job);
    if (event) await this.starts.add(job.queueName, { jobId: job.id, event });
  }
}
