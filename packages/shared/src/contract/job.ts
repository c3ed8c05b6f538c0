/** Asynchronous jobs (CONTRACT §4): the request body and the public job object. */
import { z } from 'zod';
import { webhookUrlProblem } from '../webhooks/ssrf.js';
import { absentIfNull, InputTensor, MAX_TENSORS, RequestedOutput, type OutputTensor } from './tensor.js';
import { VERSION_TEXT } from '../models/version-text.js';
import type { ProblemType } from '../errors.js';

export const WEBHOOK_EVENTS = ['start', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** `version` may be sent as a number or, as KServe does, a string of digits. */
export const VersionParam = z
  .union([z.number().int().min(1), z.string().regex(VERSION_TEXT, 'a positive integer')])
  .transform((v) => Number(v));

export const MAX_METADATA_BYTES = 8192;
/** Lowest number = most urgent, as in Triton and BullMQ. Omitted: DEFAULT_PRIORITY. */
export const DEFAULT_PRIORITY = 100;
export const MAX_PRIORITY = 1_000_000;
/** The longest `timeout_ms` a job may have: a week. */
export const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

/**
 * A client's own object, stored and returned as sent. zod makes a record anew, key by key, and
 * leaves out a key named `__proto__` (JSON.parse keeps it as a key): refused instead of dropped.
 */
export const Metadata = z.preprocess(
  (v, ctx) => {
    if (typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__')) ctx.addIssue({ code: 'custom', message: 'a key named __proto__ cannot be kept (rename it)' });
    return v;
  },
  z
    .record(z.string(), z.unknown())
    .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata is limited to ${MAX_METADATA_BYTES} bytes of JSON`)
    .describe(`the client's own object, returned as sent: at most ${MAX_METADATA_BYTES} bytes as JSON`),
);

/** The URL itself (http/https, no credentials); whether its address is allowed depends on config (ssrf.ts). */
export const WebhookUrl = z
  .string()
  .max(2048)
  .superRefine((u, ctx) => {
    const problem = webhookUrlProblem(u, { allowPrivate: true });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const JobRequest = z
  .object({
    model: z.string().min(1).describe('the model\'s name, as GET /v1/models lists it'),
    // Optional fields sent as null read as absent: a job object (which shows them as null) sent back as a request is one.
    version: absentIfNull(VersionParam).describe('a version of the model (a number, or a string of digits); absent or null: the newest served'),
    inputs: z.array(InputTensor).min(1).max(MAX_TENSORS).describe('the model\'s inputs, as a KServe v2 request has them'),
    outputs: absentIfNull(z.array(RequestedOutput).max(MAX_TENSORS)).describe('the outputs to return; absent or null: every output'),
    /** request parameters: `binary_data_output` is read by the front door; unknown ones are ignored */
    parameters: absentIfNull(z.record(z.string(), z.unknown())).describe('request parameters: `binary_data_output: true` answers every output in the binary tensor extension; others are ignored'),
    webhook: absentIfNull(WebhookUrl).describe('an absolute http(s) URL (no user:password) that gets the job\'s events, signed as Standard Webhooks says; a private address may be refused (WEBHOOK_ALLOW_PRIVATE): 400'),
    webhook_events_filter: absentIfNull(z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(16)).describe('the events the webhook gets; absent or null: both. Only with `webhook` (without it: 400)'),
    priority: absentIfNull(z.number().int().min(1).max(MAX_PRIORITY)).describe(`lower numbers run first; absent or null: ${DEFAULT_PRIORITY}. A tenant may be kept from the most urgent (PRIORITY_FLOOR): a priority under its floor is a 403`),
    timeout_ms: absentIfNull(z.number().int().min(1).max(MAX_TIMEOUT_MS)).describe('milliseconds from creation within which a worker must take the job; past them it ends failed with error.type `expired`'),
    metadata: absentIfNull(Metadata),
  })
  .strict();
export type JobRequest = z.infer<typeof JobRequest>;

/**
 * What JobRequest's shape cannot say of a job request (kept out of the schema, which others
 * extend): a filter of the events of no webhook is a mistake (the webhook forgotten), not a
 * no-op. The route answers them as a 400, like the schema's own.
 */
export function jobRequestIssues(job: JobRequest): { path: string; message: string }[] {
  return job.webhook_events_filter !== undefined && job.webhook === undefined
    ? [{ path: 'webhook_events_filter', message: 'filters the events of a webhook, and the job has none: send webhook too, or leave this out' }]
    : [];
}

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const isTerminal = (s: JobStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'canceled';

/**
 * What a job's (or a batch line's) `error.type` may be: a problem type (errors.ts:
 * `inference-failed`, `internal`, a batch line's `invalid-input`, …) or one of the endings only
 * a job has: `canceled`, `expired` (its `timeout_ms` passed before it ran), `worker-lost`
 * (interrupted more than twice), a batch line's `not-run` (its batch ended before it ran).
 */
export const JOB_ENDING_TYPES = ['canceled', 'expired', 'worker-lost', 'not-run'] as const;
export type JobErrorType = ProblemType | (typeof JOB_ENDING_TYPES)[number];

/** Why a job did not succeed. */
export interface JobError {
  type: JobErrorType;
  message: string;
}

export interface JobMetrics {
  queue_ms: number;
  batch_wait_ms: number;
  inference_ms: number;
  /** rows in the ONNX run that served the job (the largest, when it needed several runs) */
  batch_size: number;
  /** ONNX runs the job's rows were spread over (more than 1 when it exceeded max_batch_size) */
  runs: number;
  worker: string;
}

export interface JobObject {
  id: string;
  object: 'job';
  model: string;
  version: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  outputs: OutputTensor[] | null;
  error: JobError | null;
  metrics: JobMetrics | null;
  metadata: Record<string, unknown> | null;
  priority: number;
  webhook: string | null;
  webhook_events_filter: WebhookEvent[] | null;
}
