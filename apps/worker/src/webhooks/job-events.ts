/**
 * JobWebhooks: turns the inference Worker's job events into webhook events — `job.start` when
 * a job becomes active, `job.completed` when it ends (succeeded, finally failed, or canceled).
 * The body is the public job object at that moment, built by the same view as the API's.
 *
 * Emitting only queues a delivery (one Redis round trip); nothing here waits for a receiver.
 * A job's events are queued in order (start before completed). `close()` waits for those
 * still being queued, so a draining worker does not drop the events of its last jobs.
 *
 * `job.completed` is queued BEFORE the job is settled in Redis (`ending`, awaited by the
 * runner): a worker killed between the two leaves a job that runs again and emits the same
 * event (same `webhook-id`, queued once), never a finished job whose event was lost. The
 * delivery waits until the job is settled (`settledIn`), so a receiver that reads the job on
 * receipt sees the state the event describes. Final
 * failures that do not pass through the runner (stalled too often, expired before running)
 * are emitted from BullMQ's `failed` event.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  canceledKey, encodeJobError, jobWebhookEvent, toJobObject, type InferenceJobData, type InferenceJobResult, type JobError,
  type Logger, type StoredJob, type WebhookEmitter, type WebhookEventInput,
} from '@maas/shared';

type InferenceJob = Job<InferenceJobData, InferenceJobResult>;

/** How the runner is about to settle a job. */
export type JobEnd = { state: 'completed'; result: InferenceJobResult } | { state: 'failed'; error: JobError };

/** The runner reports these (see ModelRunner.observe). */
export interface JobObserver {
  active(job: InferenceJob): void;
  /** The job is about to be settled with `end`; the runner settles it once this resolves. */
  ending(job: InferenceJob, end: JobEnd): Promise<void>;
  /** BullMQ failed the job (also after `ending`, and for failures the runner never saw). */
  failed(job: InferenceJob, err: Error): void;
}

/** The job as it will be stored once settled with `end`. */
export function settledJob(job: StoredJob, end: JobEnd, now = Date.now()): StoredJob {
  return end.state === 'completed'
    ? { ...pick(job), finishedOn: now, returnvalue: end.result }
    : { ...pick(job), finishedOn: now, failedReason: encodeJobError(end.error) };
}

const pick = (j: StoredJob): StoredJob => ({ id: j.id, data: j.data, timestamp: j.timestamp, processedOn: j.processedOn });

/** True when BullMQ will not run the job again after this failure. */
export function isFinalFailure(job: { attemptsMade: number; opts: { attempts?: number } }, err: Error): boolean {
  return err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

export class JobWebhooks implements JobObserver {
  /** job id → its events still being queued, chained */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** jobs whose job.completed was queued by `ending`, until BullMQ reports their failure */
  private readonly ended = new Set<string>();

  constructor(
    private readonly emitter: WebhookEmitter,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  active(job: InferenceJob): void {
    if (!job.data.webhook) return;
    // A job canceled while queued already got its job.completed from the API: no start for it.
    void this.chain(job.id!, async () => {
      if ((await this.redis.zscore(canceledKey(job.queueName), job.id!)) !== null) return null;
      return jobWebhookEvent('start', toJobObject(job as StoredJob, 'active', null), job.data.tenant);
    });
  }

  ending(job: InferenceJob, end: JobEnd): Promise<void> {
    if (!job.data.webhook) return Promise.resolve();
    if (end.state === 'failed') this.ended.add(job.id!);
    const state = end.state === 'completed' ? 'completed' : 'failed';
    return this.chain(job.id!, async () => {
      const event = jobWebhookEvent('completed', toJobObject(settledJob(job as StoredJob, end), state, null), job.data.tenant);
      return event && { ...event, settledIn: job.queueName };
    });
  }

  failed(job: InferenceJob, err: Error): void {
    if (this.ended.delete(job.id!)) return; // its event is queued already
    if (job.data.webhook && isFinalFailure(job, err)) {
      void this.chain(job.id!, async () => jobWebhookEvent('completed', toJobObject(job as StoredJob, 'failed', null), job.data.tenant));
    }
  }

  private chain(id: string, build: () => Promise<WebhookEventInput | null>): Promise<void> {
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
    return next;
  }

  /** Resolves once every event emitted so far is queued (or failed to be). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }
}
