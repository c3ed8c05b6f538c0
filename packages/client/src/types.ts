/**
 * The public objects of the service (CONTRACT §3–§5), as a client sees them on the wire.
 *
 * Written out here rather than imported from the server's code so this package can be
 * published and used on its own, with no runtime dependency beyond Node (and lossless-json: json.ts). Field names are the
 * wire names (snake_case) so a logged object and the docs read the same.
 */

/** KServe v2 tensor datatypes. */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/**
 * Nested arrays are accepted in requests (row-major); responses are always flat. An INT64/UINT64
 * value past 2^53 is a `bigint` (written and read exactly, as the service does: json.ts).
 */
export type TensorData = (number | bigint | boolean | string | TensorData)[] | NumericArray;

/** A typed array as tensor data: sent as the list of its values (flat, row-major). */
export type NumericArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A KServe v2 JSON tensor. The first dimension of `shape` is the batch (row) dimension. */
export interface Tensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  data: TensorData;
  parameters?: Record<string, unknown>;
}

/** A tensor in a response: flat row-major data. */
export interface OutputTensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  data: (number | bigint | boolean | string)[];
}

/** Which outputs to return; `classification: k` asks for the top-k `"value:index:label"` strings. */
export interface RequestedOutput {
  name: string;
  parameters?: { classification?: number };
}

export type WebhookEventKind = 'start' | 'completed';

/** `POST /v1/jobs` body. */
export interface JobRequest {
  model: string;
  /** a positive integer (a string of digits is accepted too); omitted: the newest served version */
  version?: number | string;
  inputs: Tensor[];
  outputs?: RequestedOutput[];
  webhook?: string;
  webhook_events_filter?: WebhookEventKind[];
  /** lowest number = most urgent */
  priority?: number;
  timeout_ms?: number;
  metadata?: Record<string, unknown>;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type BatchStatus = JobStatus;

/** Why a job (or a batch line) did not succeed. `type`: a problem type, or `canceled` / `expired` / `worker-lost` / `not-run` (the service's JobErrorType). */
export interface JobError {
  type: string;
  message: string;
}

export interface JobMetrics {
  queue_ms: number;
  batch_wait_ms: number;
  inference_ms: number;
  /** rows in the ONNX run that served the job */
  batch_size: number;
  /** ONNX runs the job's rows were spread over */
  runs?: number;
  worker: string;
}

/** The job object (`GET /v1/jobs/{id}`). */
export interface Job {
  id: string;
  object: 'job';
  model: string;
  version: string;
  status: JobStatus;
  /** ISO 8601 */
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  outputs: OutputTensor[] | null;
  error: JobError | null;
  metrics: JobMetrics | null;
  metadata: Record<string, unknown> | null;
  priority?: number;
  webhook?: string | null;
  webhook_events_filter?: WebhookEventKind[] | null;
}

export interface BatchCounts {
  total: number;
  succeeded: number;
  failed: number;
}

/** The batch object (`GET /v1/batches/{id}`). */
export interface Batch {
  id: string;
  object: 'batch';
  model: string;
  version?: string | null;
  status: BatchStatus;
  counts: BatchCounts;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** when the batch and its results are deleted */
  expires_at?: string | null;
  webhook?: string | null;
  /** why the batch as a whole failed (status `failed`); per-line errors are in the results */
  error?: JobError | null;
  [extra: string]: unknown;
}

/** A page of batches (`GET /v1/batches`), newest first. */
export interface BatchPage {
  object: 'list';
  data: Batch[];
  first_id: string | null;
  /** pass as `after` for the next page */
  last_id: string | null;
  has_more: boolean;
}

/**
 * One input line of a batch: tensors, or the compact one-row form `{"features": [5.1, 3.5, 1.4, 0.2]}`.
 * Lines without `custom_id` get their line number.
 */
export interface BatchLine {
  custom_id?: string;
  inputs: Tensor[] | Record<string, TensorData>;
  [extra: string]: unknown;
}

/**
 * One line of `GET /v1/batches/{id}/results`, in input order. `outputs` mirrors the line's
 * form: tensors for tensor lines, `{"name": [values of its one row]}` for compact lines.
 */
export type BatchResult =
  | { custom_id: string; outputs: OutputTensor[] | Record<string, unknown[]>; error?: undefined }
  | { custom_id: string; error: JobError | Record<string, unknown>; outputs?: undefined };

/** A tensor a model declares: `-1` marks a variable (batch) dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** One entry of `GET /v1/models`. */
export interface ModelInfo {
  name: string;
  versions: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  max_batch_size: number;
  max_queue_delay_ms?: number;
  labels?: string[] | null;
  /** at least one live worker serves it */
  ready: boolean;
  workers: number;
  versions_ready?: string[];
}

/** KServe v2 model metadata (`GET /v2/models/{m}[/versions/{v}]`). */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  parameters?: Record<string, unknown>;
}

/** KServe v2 infer response. */
export interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  /** the job that served the request (the `X-Job-Id` header), for `jobs.get` and logs */
  job_id?: string;
}

/** `GET /v1/webhooks/secret` and its rotation: the tenant's signing secrets. */
export interface WebhookSecrets {
  /** the current secret: signs every delivery */
  secret: string;
  /** secrets rotated out that still sign beside it, each until `expires_at` (null: set in WEBHOOK_SECRET, until it is changed there) */
  previous: { secret: string; expires_at: string | null }[];
  /** how long a rotated-out secret keeps signing (WEBHOOK_SECRET_OVERLAP) */
  overlap_seconds: number;
  /** `config`: the cluster's WEBHOOK_SECRET (rotated there); `generated`: kept in Redis, rotatable with `rotateWebhookSecret` */
  source: 'config' | 'generated';
}

/** `GET /v2/health/ready` body; `ready: false` comes with HTTP 503. */
export interface HealthStatus {
  ready: boolean;
  [detail: string]: unknown;
}

/** One issue of a 400: `path` points into the request (`inputs[0].shape`). */
export interface ProblemIssue {
  path: string;
  message: string;
}

/** An RFC 9457 problem document as the API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemIssue[];
  [extension: string]: unknown;
}

/** A webhook delivery's body (CONTRACT §5). */
export type WebhookEvent =
  | { type: 'job.start' | 'job.completed'; timestamp: string; data: Job }
  | { type: 'batch.completed'; timestamp: string; data: Batch };

export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

/**
 * True once a job will not change any more. A batch reads `canceled` from its cancel on, but
 * has ended only once `completed_at` is set (the chunks a worker was running finish first):
 * see `batchEnded`.
 */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * True once a batch has ended: its counts are final and its results can be read. `succeeded`
 * and `failed` are read only at the end; `canceled` from the cancel on, ended once
 * `completed_at` is set.
 */
export function batchEnded(batch: Pick<Batch, 'status' | 'completed_at'>): boolean {
  if (batch.status === 'canceled') return batch.completed_at !== null && batch.completed_at !== undefined;
  return isTerminal(batch.status);
}

/** Webhook timestamps are accepted this far either way of the receiver's clock (Standard Webhooks' default: 5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
