/**
 * PURE: a job's ending as the runner reaches it, and what the ledger and the webhooks make of
 * it: the stored job as it will read once settled, its job.completed event, its end marker.
 */
import {
  clusterNow, CANCELED_BY_REQUEST, encodeJobError, jobWebhookEvent, toJobObject, type Ending, type InferenceJobData, type InferenceJobResult, type JobError,
  type RawTensor, type StoredJob, type WebhookEventInput,
} from '@maas/shared';

/** How the runner is about to settle a job. */
export type JobEnd =
  /** `outputs`: the result's tensors, when at hand (a view needs them if the result's bytes are stored apart) */
  | { state: 'completed'; result: InferenceJobResult; outputs?: RawTensor[] }
  | { state: 'failed'; error: JobError };

/** The fields of a BullMQ job the ledger reads. */
export type EndingJob = StoredJob & { queueName: string; data: InferenceJobData };

/** The job as it will be stored once settled with `end`. */
export function settledJob(job: StoredJob, end: JobEnd, now = clusterNow()): StoredJob {
  return end.state === 'completed'
    ? { ...pick(job), finishedOn: now, returnvalue: end.result, ...(end.outputs ? { outputs: end.outputs } : {}) }
    : { ...pick(job), finishedOn: now, failedReason: encodeJobError(end.error) };
}

const pick = (j: StoredJob): StoredJob => ({ id: j.id, data: j.data, timestamp: j.timestamp, processedOn: j.processedOn });

/** The ledger's word for `end` (a failure of type canceled is a cancel). */
export function ledgerEnding(end: JobEnd): Ending {
  if (end.state === 'completed') return { state: 'completed' };
  return end.error.type === 'canceled' ? { state: 'canceled' } : { state: 'failed', error: end.error };
}

/**
 * The job.completed of `job` ending with `end`, or null when it has no webhook that wants it.
 * It names the job's queue (`settledIn`): its delivery waits until BullMQ holds the ending.
 */
export function completedEvent(job: EndingJob, end: JobEnd, now = clusterNow()): WebhookEventInput | null {
  const state = end.state === 'completed' ? 'completed' : 'failed';
  const event = jobWebhookEvent('completed', toJobObject(settledJob(job, end, now), state, null), job.data.tenant, now);
  return event && { ...event, settledIn: job.queueName };
}

/** The job.start of `job` now active, or null when it has no webhook that wants it. */
export function startEvent(job: EndingJob, now = clusterNow()): WebhookEventInput | null {
  return jobWebhookEvent('start', toJobObject(job, 'active', null), job.data.tenant, now);
}

/**
 * How to settle a job the ledger says ended as `e`: an earlier writer's ending (a cancel, or
 * a run before a crash) wins over this run's, whatever this run came to (its own success, or a
 * failure: its deadline passed meanwhile, its session lost). A completion recorded earlier
 * settles with its recorded result (`recorded`, the JSON BullMQ would have stored), so the job
 * reads as the job.completed that went out said; one recorded before results were kept with
 * it (an older worker) keeps this run's, and should this run have failed, its failure stands.
 */
export function endFromLedger(e: Ending, mine: JobEnd, recorded?: string): JobEnd {
  if (e.state === 'completed') return recorded ? { state: 'completed', result: JSON.parse(recorded) as InferenceJobResult } : mine;
  if (e.state === 'canceled') return { state: 'failed', error: CANCELED_BY_REQUEST };
  return { state: 'failed', error: e.error };
}
