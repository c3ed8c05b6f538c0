/**
 * PURE: BullMQ's record of a job → the public job object (CONTRACT §4). Shared so the API's
 * responses and the workers' webhook bodies are the same object. A job packed into a carrier
 * job (payloads.ts `members`) is seen through `toMemberObject`.
 */
import type { JobObject, JobStatus } from '../contract/job.js';
import type { OutputTensor } from '../contract/tensor.js';
import { CANCELED_BEFORE_IT_RAN, decodeJobError, encodeJobError, EXPIRED_IN_QUEUE, type InferenceJobData, type InferenceJobResult } from '../payloads.js';
import { outputTensor } from '../tensors/output-tensor.js';
import { fromEncoded, type RawTensor } from '../tensors/raw.js';
import { sliceRows } from '../tensors/rows.js';

/** The fields of a BullMQ Job this view reads (so tests can build one without Redis). */
export interface StoredJob {
  id: string;
  data: InferenceJobData;
  timestamp: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  returnvalue?: InferenceJobResult | null | undefined;
  failedReason?: string | undefined;
  /**
   * BullMQ's deferred failure (`defa`): set on a job canceled while queued (CANCEL_JOB_LUA), which
   * the worker that fetches it fails at once with it, never running it.
   */
  deferredFailure?: string | undefined;
  /**
   * The outputs, when they were read apart from `returnvalue` (its `payload`: large outputs
   * are stored as raw bytes beside the job); a view of such a job needs them.
   */
  outputs?: RawTensor[] | undefined;
}

/** BullMQ states: waiting, prioritized, delayed, waiting-children, active, completed, failed, unknown. */
export type QueueState = string;

const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

/**
 * When the job's record says it started, never before it was created: a worker's blocking
 * fetch (apps/worker batching/blocking-fetch.ts) stamps a job with the time its wait began,
 * and a worker that was waiting took the new job at once.
 */
export const startedOn = (job: Pick<StoredJob, 'timestamp' | 'processedOn'>): number | undefined =>
  job.processedOn ? Math.max(job.processedOn, job.timestamp) : undefined;

/** A succeeded job's outputs as tensors: `job.outputs`, else decoded from its result (base64). */
export function resultTensors(job: Pick<StoredJob, 'id' | 'outputs'>, result: InferenceJobResult): RawTensor[] {
  if (job.outputs) return job.outputs;
  if (result.payload) throw new Error(`job ${job.id}: its outputs are stored apart (${result.payload}) and were not read`);
  return result.outputs.map(fromEncoded);
}

/** The outputs' public form: JSON values made when first read (output-tensor.ts), the bytes kept for binary answers. */
export function outputsToJson(outputs: readonly RawTensor[]): OutputTensor[] {
  return outputs.map(outputTensor);
}

export function jobStatus(state: QueueState, failedReason: string | undefined, canceledAt: number | null): JobStatus {
  if (state === 'completed') return 'succeeded';
  if (state === 'failed') return decodeJobError(failedReason).type === 'canceled' ? 'canceled' : 'failed';
  // A canceled job still in the queue will never run: a worker that reaches it fails it at once.
  if (canceledAt !== null && state !== 'active') return 'canceled';
  return state === 'active' ? 'running' : 'queued';
}

/** The stamps each succeeded job view's outputs were computed with (InferenceJobResult.ran), beside the public fields. */
const ranStamps = new WeakMap<JobObject, string>();

/** What the runner that computed `job`'s outputs had opened (InferenceJobResult.ran); undefined for older workers' jobs. */
export function ranWith(job: JobObject): string | undefined {
  return ranStamps.get(job);
}

/**
 * `now`, when given: a job still queued past its `timeout_ms` (`data.deadline`), never taken
 * by a worker, reads as it will end, failed as expired at its deadline: no worker will run it
 * (the API's expiry sweep records the ending, with its job.completed: services/expiry.ts), and
 * a reader need not wait for that. No time is read later than `now`.
 */
/** `at`, or `floor` when `at` is before it (undefined stays undefined). */
const notBefore = (at: number | undefined, floor: number | undefined): number | undefined =>
  at === undefined || floor === undefined ? at : Math.max(at, floor);

export function toJobObject(job: StoredJob, state: QueueState, canceledAt: number | null, now?: number): JobObject {
  // Canceled or expired while queued, then fetched by a worker about to fail it (its deferred
  // failure): it reads as it did before the fetch and as its job.completed said; not running.
  if (state === 'active' && job.deferredFailure) return toJobObject(job, 'waiting', canceledAt, now);
  const d = job.data;
  // Past its deadline and never taken by a worker (one taken, whose worker died, waits to run again).
  const overdue = now !== undefined && d.deadline !== undefined && now > d.deadline && canceledAt === null && job.processedOn === undefined
    && !['active', 'completed', 'failed'].includes(state);
  if (overdue) return toJobObject({ ...job, failedReason: encodeJobError(EXPIRED_IN_QUEUE), finishedOn: d.deadline }, 'failed', null);
  const status = jobStatus(state, job.failedReason, canceledAt);
  const result = status === 'succeeded' ? job.returnvalue ?? null : null;
  const error =
    status === 'failed' || (status === 'canceled' && state === 'failed')
      ? decodeJobError(job.failedReason)
      : status === 'canceled'
        ? CANCELED_BEFORE_IT_RAN
        : null;
  // Canceled while queued, then failed at its fetch (the deferred failure): it never ran, and it
  // ended when it was canceled, not when a worker came to it.
  const failedUnrun = state === 'failed' && error?.type === 'canceled' && error.message === CANCELED_BEFORE_IT_RAN.message;
  // Never before its creation, nor its end before its start: a worker's host clock that is
  // behind the API's stamped both before it (a clock-skew audit).
  // Nor after it is read (`now`): a running or failed job's times are BullMQ's stamps, on its
  // worker's host clock (a host ahead read as started in the future); a succeeded job's are on
  // the cluster's clock.
  const atMost = (at: number | undefined) => (at !== undefined && now !== undefined ? Math.min(at, now) : at);
  const started = atMost(notBefore(result?.started ?? startedOn(job), job.timestamp));
  const view: JobObject = {
    id: job.id,
    object: 'job',
    model: d.model,
    version: String(d.version),
    status,
    created_at: iso(job.timestamp)!,
    // Never started: queued, canceled before a worker had it, or expired (its worker found it past its deadline, or its input gone, and ran nothing).
    started_at: status === 'queued' || (status === 'canceled' && state !== 'failed') || failedUnrun || error?.type === 'expired' ? null : iso(started),
    completed_at: status === 'canceled' && state !== 'failed' ? iso(canceledAt)
      : failedUnrun ? iso(canceledAt ?? job.finishedOn)
      // Expired: at its deadline, though the worker that found it so came later (or when its
      // input was found gone, if that came first); never before it was created.
      : error?.type === 'expired' && d.deadline !== undefined ? iso(Math.max(job.timestamp, Math.min(d.deadline, job.finishedOn ?? d.deadline)))
      : state === 'completed' || state === 'failed' ? iso(atMost(notBefore(result?.completed ?? job.finishedOn, started))) : null,
    outputs: result ? outputsToJson(resultTensors(job, result)) : null,
    error,
    metrics: result ? result.metrics : null,
    metadata: d.metadata ?? null,
    priority: d.priority,
    webhook: d.webhook?.url ?? null,
    webhook_events_filter: d.webhook?.events ?? null,
  };
  if (result?.ran) ranStamps.set(view, result.ran);
  return view;
}

/**
 * A member of a carrier job as the public job it is: the carrier's state, times and metrics,
 * its own id, metadata and rows of the outputs. `canceledAt`: when the member was canceled,
 * which the API records only while its carrier is still queued (CANCEL_MEMBER_LUA), so a
 * canceled member is canceled whatever its carrier did next: its rows may have run with the
 * carrier's, but they are never shown. Undefined when `memberId` is not in the carrier.
 */
export function toMemberObject(carrier: StoredJob, memberId: string, state: QueueState, canceledAt: number | null): JobObject | undefined {
  const members = carrier.data.members ?? [];
  const result = carrier.returnvalue;
  // Members that failed alone have no rows in the outputs (InferenceJobResult.memberErrors).
  const failedAlone = result?.memberErrors ?? {};
  let offset = 0;
  const index = members.findIndex((m) => {
    if (m.id === memberId) return true;
    if (!failedAlone[m.id]) offset += m.rows;
    return false;
  });
  const member = members[index];
  if (!member) return undefined;
  const data: InferenceJobData = { ...carrier.data, rows: member.rows };
  delete data.members;
  if (member.metadata) data.metadata = member.metadata;
  else delete data.metadata;
  const ownError = failedAlone[member.id];
  if (ownError && canceledAt === null) {
    return toJobObject({ ...carrier, id: member.id, data, returnvalue: undefined, outputs: undefined, failedReason: encodeJobError(ownError) }, 'failed', null);
  }
  const own: StoredJob = {
    ...carrier,
    id: member.id,
    data,
    // Its rows of the carrier's outputs (views, no copy).
    outputs: result ? resultTensors(carrier, result).map((o) => sliceRows(o, offset, offset + member.rows)) : undefined,
  };
  return canceledAt === null ? toJobObject(own, state, null) : toJobObject(own, 'waiting', canceledAt);
}
