/**
 * JobWebhooks: turns the inference Worker's job events into webhook events — `job.start` when
 * a job becomes active, `job.completed` when it ends (succeeded, finally failed, or canceled).
 * The body is the public job object at that moment, built by the same view as the API's.
 *
 * Emitting only queues a delivery (one Redis round trip); nothing here waits for a receiver.
 * A job's events are queued in order (start before completed). `close()` waits for those
 * still being queued, so a draining worker does not drop the events of its last jobs.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  canceledKey, jobWebhookEvent, toJobObject, type InferenceJobData, type InferenceJobResult, type Logger,
  type StoredJob, type WebhookEmitter, type WebhookEventInput,
} from '@maas/shared';

type InferenceJob = Job<InferenceJobData, InferenceJobResult>;

/** The runner reports these (see ModelRunner.observe). */
export interface JobObserver {
  active(job: InferenceJob): void;
  completed(job: InferenceJob): void;
  failed(job: InferenceJob, err: Error): void;
}

/** True when BullMQ will not run the job again after this failure. */
export function isFinalFailure(job: { attemptsMade: number; opts: { attempts?: number } }, err: Error): boolean {
  return err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

export class JobWebhooks implements JobObserver {
  /** job id → its events still being queued, chained */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly emitter: WebhookEmitter,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  active(job: InferenceJob): void {
    if (!job.data.webhook) return;
    // A job canceled while queued already got its job.completed from the API: no start for it.
    this.chain(job.id!, async () => {
      if ((await this.redis.zscore(canceledKey(job.queueName), job.id!)) !== null) return null;
      return jobWebhookEvent('start', toJobObject(job as StoredJob, 'active', null));
    });
  }

  completed(job: InferenceJob): void {
    if (job.data.webhook) this.chain(job.id!, async () => jobWebhookEvent('completed', toJobObject(job as StoredJob, 'completed', null)));
  }

  failed(job: InferenceJob, err: Error): void {
    if (job.data.webhook && isFinalFailure(job, err)) {
      this.chain(job.id!, async () => jobWebhookEvent('completed', toJobObject(job as StoredJob, 'failed', null)));
    }
  }

  private chain(id: string, build: () => Promise<WebhookEventInput | null>): void {
    const previous = this.inFlight.get(id) ?? Promise.resolve();
    const next = previous
      .then(build)
      .then((event) => event && this.emitter.emit(event))
      .then(
        () => {},
        (err: unknown) => this.log.warn({ err, jobId: id }, 'webhook event could not be queued'),
      )
      .finally(() => {
        if (this.inFlight.get(id) === next) this.inFlight.delete(id);
      });
    this.inFlight.set(id, next);
  }

  /** Resolves once every event emitted so far is queued (or failed to be). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }
}
