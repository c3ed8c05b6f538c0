/**
 * What crosses Redis between the API and the workers: a job's data and its return value.
 * Tensors travel as base64 bytes (see tensors/raw.ts), or, for batch-file chunks and jobs with
 * large inputs, as one raw binary string in its own key (`payload`, see tensors/payload.ts). `v` lets a later release read
 * payloads written by this one during a rolling upgrade.
 */
import type { JobError, JobMetrics, WebhookEvent } from './contract/job.js';
import type { RequestedOutput } from './contract/tensor.js';
import type { EncodedTensor } from './tensors/raw.js';

export const PAYLOAD_VERSION = 1;

/** A `/v1/jobs` job packed into a carrier job: its public id, its rows, its own metadata. */
export interface JobMember {
  id: string;
  rows: number;
  metadata?: Record<string, unknown>;
}

export interface InferenceJobData {
  v: typeof PAYLOAD_VERSION;
  model: string;
  version: number;
  tenant: string;
  rows: number;
  /** requests packed into this job, their rows one after the other (v2 infer requests, or `members`); absent = 1 */
  requests?: number;
  /**
   * `/v1/jobs` packed into this job (a carrier): each is a public job of its own, with its rows
   * in this order. The carrier's own id is never shown; its state is theirs (views/job.ts).
   */
  members?: JobMember[];
  inputs: EncodedTensor[];
  outputs: RequestedOutput[];
  /** epoch ms after which the job is failed as expired instead of run */
  deadline?: number;
  metadata?: Record<string, unknown>;
  webhook?: { url: string; events: WebhookEvent[] };
  /** public priority (lower = more urgent) */
  priority: number;
  /** Redis key of the inputs' raw bytes (batch-file chunks, large inputs); the worker removes it once the job ended */
  payload?: string;
  /** set on the chunk jobs of a batch submission: the worker records their outputs with the batch */
  batch?: {
    id: string; chunk: number; lines: number; retentionSeconds: number;
    /** rows of each line that has rows, in order; absent when each is one row (`lines` = `rows`) */
    lineRows?: number[];
  };
}

export interface InferenceJobResult {
  v: typeof PAYLOAD_VERSION;
  /** base64 each; or, with `payload`, where each output's bytes sit in it (`at`) */
  outputs: EncodedTensor[];
  /**
   * Redis key of the outputs' raw bytes, for outputs of RAW_PAYLOAD_MIN_BYTES or more: kept
   * beside the job as long as its record (so neither BullMQ's job hash nor its events stream
   * holds them). Readers load them into `StoredJob.outputs` (views/job.ts) before a view.
   */
  payload?: string;
  /**
   * A carrier's members whose rows failed the model's run alone (their values, not the
   * others'), by member id: those members failed so, and `outputs` hold the other members' rows only.
   */
  memberErrors?: Record<string, JobError>;
  metrics: JobMetrics;
  /**
   * When the job started (BullMQ's processedOn) and when its outputs were ready (ms): its
   * `started_at` and `completed_at`. Carried in the result because BullMQ's completion event
   * carries the result alone, and an API answering a waiter from that event (the API's
   * completion-events.ts) must say what every later read of the job says.
   */
  started?: number;
  completed?: number;
  /**
   * What the runner that computed the outputs opened: `modelDigests` of its model (config and
   * labels) and version (model.onnx's bytes). The API's response cache keeps an answer only
   * under the digests it keyed it with, so an answer a worker computed with a file the API no
   * longer serves (the two poll the repository apart) is never kept. Set only for a model with
   * `response_cache` (by the runner's config: a result without it is never kept).
   */
  ran?: string;
}

const ERROR_PREFIX = 'maas:';

/** How a job canceled through the API while a worker held it ends (at its next cancel check). */
export const CANCELED_BY_REQUEST: JobError = { type: 'canceled', message: 'canceled by request' };
/**
 * The error of a job canceled while it was queued: what the API shows at once, and what BullMQ
 * fails it with when a worker fetches it (the deferred failure CANCEL_JOB_LUA sets), so that
 * views tell it from a job canceled while running (views/job.ts).
 */
export const CANCELED_BEFORE_IT_RAN: JobError = { type: 'canceled', message: 'canceled by request before it ran' };
/** The error of a job whose `timeout_ms` passed before any worker started it. */
export const EXPIRED_IN_QUEUE: JobError = { type: 'expired', message: 'timeout_ms elapsed before the job could run' };

/**
 * Bytes of metadata (as JSON) a job's data carries: its own and its packed members' (up to 8 KiB
 * each, and a carrier may hold as many members as `max_batch_size` rows). What bounds how much of
 * it is kept in memory (the API's recent jobs) or sent along (a worker's announcement).
 */
export function metadataBytes(data: Pick<InferenceJobData, 'metadata' | 'members'>, limit = Infinity): number {
  let n = data.metadata === undefined ? 0 : JSON.stringify(data.metadata).length;
  for (const m of data.members ?? []) {
    if (n > limit) break; // past it: the rest need not be counted
    if (m.metadata !== undefined) n += JSON.stringify(m.metadata).length;
  }
  return n;
}

/** Worker side: a failure reason BullMQ stores as a string, carrying our typed error. */
export function encodeJobError(error: JobError): string {
  return ERROR_PREFIX + JSON.stringify(error);
}

/** API side: BullMQ's failedReason → JobError (reasons BullMQ wrote itself become worker-lost/internal). */
export function decodeJobError(reason: string | undefined): JobError {
  if (reason?.startsWith(ERROR_PREFIX)) {
    try {
      const e = JSON.parse(reason.slice(ERROR_PREFIX.length)) as JobError;
      if (typeof e.type === 'string' && typeof e.message === 'string') return e;
    } catch {
      /* fall through */
    }
  }
  if (reason && /stalled more than allowable limit/i.test(reason)) {
    return { type: 'worker-lost', message: 'the job was interrupted too many times (workers stopped while running it)' };
  }
  return { type: 'internal', message: reason ?? 'unknown failure' };
}

/** What a runner serves, by content (InferenceJobResult.ran): the model's config and labels, then the version's file. */
export const modelDigests = (model: { digest: string }, version: { digest: string }): string => `${model.digest}|${version.digest}`;
