/**
 * JobAnnouncer: tells the API processes that jobs ended (JOB_EVENTS_CHANNEL), so their waiting
 * requests (`Prefer: wait`, `?wait`, v2 infer) answer at once.
 *
 * The events of one event-loop turn leave as ONE PUBLISH of a JSON array: the jobs of a
 * micro-batch settle together, so a micro-batch costs one Redis command, not one per job. A
 * succeeded job's event carries its settled record (inputs left out) when its outputs are
 * small, so the API answers without reading the job back; larger results are read as before.
 * Announcements are hints: a lost one only costs a waiter its next re-read.
 *
 * The runner announces a success from BullMQ's 'completed' event, i.e. once the completion
 * script has stored it (a completion refused because the job's lock was lost is never
 * announced, so waiters never answer with a result that another worker's run replaced), and a
 * failure once the job ledger holds it (ledger/job-endings.ts `failed`; one BullMQ failed on its
 * own is in BullMQ's failed set already when its 'failed' event comes). So a waiter never hears
 * of an ending before it is stored.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, JOB_EVENTS_CHANNEL, metadataBytes, type InferenceJobData, type InferenceJobResult, type JobEventMessage, type Logger, type SettledRecord,
} from '@maas/shared';

/**
 * Outputs (base64 characters) and metadata (JSON) up to which a result travels with its
 * announcement: every API process receives and parses each one, and keeps it a moment.
 */
export const INLINE_RESULT_BYTES = 64 * 1024;

/** The settled record of a succeeded job, or undefined when its outputs and metadata are too large to inline. */
export function settledRecord(job: Job<InferenceJobData, InferenceJobResult>, result: InferenceJobResult, now = clusterNow()): SettledRecord | undefined {
  let size = metadataBytes(job.data, INLINE_RESULT_BYTES);
  for (const o of result.outputs) size += o.b64?.length ?? JSON.stringify(o).length;
  if (size > INLINE_RESULT_BYTES) return undefined;
  return {
    id: job.id!,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn ?? now,
    data: { ...job.data, inputs: [] },
    returnvalue: result,
  };
}

export class JobAnnouncer {
  private pending: JobEventMessage[] = [];

  constructor(private readonly redis: Redis, private readonly log: Logger) {}

  announce(msg: JobEventMessage): void {
    this.pending.push(msg);
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const turn = this.pending;
    this.pending = [];
    if (turn.length === 0) return;
    this.redis.publish(JOB_EVENTS_CHANNEL, JSON.stringify(turn)).catch((err: unknown) => this.log.warn({ err }, 'publish failed'));
  }
}
