/**
 * Response shapes for the OpenAPI document, as zod schemas (converted with `z.toJSONSchema`).
 * Requests are documented from the very schemas the routes parse with (routes.ts); these
 * describe what the API answers, and the end-to-end test checks live answers against them.
 */
import { z } from 'zod';
import { BATCH_STATUSES, DATATYPES, JOB_ENDING_TYPES, JOB_STATUSES, JsonTensor, PROBLEMS, WEBHOOK_EVENTS, WEBHOOK_EVENT_TYPES, type ProblemType } from '@maas/shared';

const Instant = z.iso.datetime().describe('ISO 8601, UTC');
const Tensor = z.object({
  name: z.string(),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int()),
  data: z.array(z.unknown()).describe(
    'the elements, flat, row-major: numbers (INT64 and UINT64 past 2^53 written exactly), booleans for BOOL, strings for BYTES; ' +
    'a floating-point NaN or ±Infinity, which JSON cannot hold, is null (the binary tensor extension carries it exactly)',
  ),
});
const TensorSpec = z.object({ name: z.string(), datatype: z.enum(DATATYPES), shape: z.array(z.number().int()).describe('-1 = symbolic') });
const JobError = z.object({
  type: z.enum([...(Object.keys(PROBLEMS) as ProblemType[]), ...JOB_ENDING_TYPES]).describe('a closed list: a problem type, or an ending only a job has'),
  message: z.string(),
});

/**
 * Binary tensor extension (binary/framing.ts `frameResponse`): an output asked for in binary
 * leaves `data` for `parameters.binary_data_size` bytes after the JSON header; the others keep
 * their `data`. InferResponseHeader and JobHeader are the JSON headers of such answers.
 */
const FramedTensor = z.union([Tensor, Tensor.omit({ data: true }).extend({ parameters: z.object({ binary_data_size: z.number().int().min(0) }) })]);

export const Problem = z
  .object({
    type: z.string().describe('urn:maas:problem:<slug>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('invalid-input: each issue'),
    job_id: z.string().optional().describe('inference-failed, timeout, shutting-down, redis-unavailable (a v2 infer): the job that served the request'),
    job_status: z.enum(JOB_STATUSES).optional().describe('inference-failed, timeout, shutting-down: its status'),
    job_rows: z.array(z.number().int()).length(2).optional().describe("with job_id, when the v2 request shares its job with others: the rows [start, end) of the job's outputs that are its own"),
    status_of_batch: z.enum(BATCH_STATUSES).optional().describe('batch-not-finished: the batch status'),
    queued_rows: z.number().int().optional().describe('quota-exceeded: rows the tenant has queued'),
    quota_rows: z.number().int().optional().describe('quota-exceeded: its quota'),
    ready: z.literal(false).optional().describe('not-ready: the readiness, as a 200 says it'),
    redis: z.boolean().optional().describe('not-ready: whether Redis answered its ping within 2 s'),
    models: z.number().int().optional().describe('not-ready: models loaded'),
    length: z.number().int().optional().describe('range-not-satisfiable: the length of the results in bytes'),
  })
  .describe('RFC 9457 problem details');

/** On `/v2` routes a problem also carries `error` (http/problem.ts `sendProblem`). */
export const V2Problem = Problem.extend({ error: z.string().describe('the detail again: the Open Inference Protocol error body') }).describe(
  'RFC 9457 problem details, with the Open Inference Protocol `error`',
);

export const Job = z.object({
  id: z.string(),
  object: z.literal('job'),
  model: z.string(),
  version: z.string(),
  status: z.enum(JOB_STATUSES),
  created_at: Instant,
  started_at: Instant.nullable(),
  completed_at: Instant.nullable(),
  outputs: z.array(Tensor).nullable(),
  error: JobError.nullable(),
  metrics: z
    .object({ queue_ms: z.number(), batch_wait_ms: z.number(), inference_ms: z.number(), batch_size: z.number(), runs: z.number(), worker: z.string() })
    .partial()
    .nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  priority: z.number().int(),
  webhook: z.string().nullable(),
  webhook_events_filter: z.array(z.enum(WEBHOOK_EVENTS)).nullable(),
});

/** The JSON header of a framed job answer. */
export const JobHeader = Job.extend({ outputs: z.array(FramedTensor).nullable() });

export const Batch = z.object({
  id: z.string(),
  object: z.literal('batch'),
  model: z.string(),
  version: z.string(),
  status: z.enum(BATCH_STATUSES),
  counts: z.object({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }),
  created_at: Instant,
  started_at: Instant.nullable(),
  completed_at: Instant.nullable(),
  expires_at: Instant.nullable(),
  webhook: z.string().nullable(),
  error: JobError.nullable(),
});

/**
 * One line of a batch upload (CONTRACT §4; batches/line.ts reads it). Documented as the item of
 * the NDJSON body (`x-item-schema`, OpenAPI 3.2's itemSchema): OpenAPI 3.1 cannot type a line.
 */
export const BatchRequestLine = z
  .object({
    custom_id: z.union([z.string(), z.number()]).nullable().optional().describe("returned on the line's result, as a string; absent or null: the line's number (from 1)"),
    inputs: z
      .union([
        z.array(JsonTensor).describe('the tensor form: KServe v2 tensors of one or more rows'),
        z.record(z.string(), z.array(z.unknown())).describe("the compact form: one row, each input's elements, flat"),
      ])
      .describe('the model\'s inputs; any other key fails the line (its result says why)'),
  })
  .strict();

/** One line of a batch's results, for the input line at the same place (batches/results.ts writes them). */
export const BatchResultLine = z.union([
  z.object({ custom_id: z.string(), outputs: z.record(z.string(), z.array(z.unknown())).describe("a compact line's: each output's row, flat") }),
  z.object({ custom_id: z.string(), outputs: z.array(Tensor).describe("a tensor line's: the outputs of its rows") }),
  z.object({ custom_id: z.string(), error: JobError.describe('why the line has no outputs: `invalid-input` (refused when read), `inference-failed`, `canceled`, `not-run`…') }),
]);

export const InferResponse = z.object({ model_name: z.string(), model_version: z.string(), id: z.string(), outputs: z.array(Tensor) });

/** The JSON header of a framed infer answer. */
export const InferResponseHeader = InferResponse.extend({ outputs: z.array(FramedTensor) });

export const ModelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(TensorSpec),
  outputs: z.array(TensorSpec),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

export const ModelListing = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  inputs: z.array(TensorSpec),
  outputs: z.array(TensorSpec),
  max_batch_size: z.number().int(),
  max_queue_delay_ms: z.number(),
  labels: z.array(z.string()).nullable(),
  ready: z.boolean(),
  workers: z.number().int(),
  versions_ready: z.array(z.string()),
});

export const ModelList = z.object({ object: z.literal('list'), models: z.array(ModelListing) });
export const ServerMetadata = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const Live = z.object({ live: z.boolean() });
export const Ready = z.object({ ready: z.boolean(), redis: z.boolean(), models: z.number().int() });
export const ModelReady = z.object({ name: z.string(), ready: z.literal(true), workers: z.number().int() });

export const WebhookSecret = z.object({
  object: z.literal('webhook_secret'),
  secret: z.string().describe('whsec_… of the calling tenant'),
  created_at: Instant.nullable(),
  previous: z.array(z.object({ secret: z.string(), expires_at: Instant.nullable().describe('null: set by WEBHOOK_SECRET, signing until taken out of it') })).describe('replaced secrets still signing beside it'),
  overlap_seconds: z.number().int(),
  source: z.enum(['config', 'generated']),
});

export const Delivery = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  url: z.string(),
  created_at: Instant,
  status: z.enum(['pending', 'delivered', 'exhausted']),
  next_attempt_at: Instant.nullable(),
  redeliveries: z.number().int(),
  attempts: z.array(z.object({
    at: Instant,
    attempt: z.number().int().describe('1-based within its series (a redelivery starts a new series at 1)'),
    status: z.number().int().nullable().describe('the receiver\'s HTTP status; null when no answer came'),
    duration_ms: z.number(),
    error: z.string().optional().describe('why no answer came (a timeout, a refused connection, an address the policy refuses)'),
    response_excerpt: z.string().optional().describe('the first characters of the receiver\'s answer'),
  }).passthrough()),
});
export const DeliveryList = z.object({ object: z.literal('list'), data: z.array(Delivery) });

/** What a receiver gets (CONTRACT §5, docs/webhooks.md): `{type, timestamp, data}`, data the job or batch object. */
export const JobStartEvent = z.object({ type: z.literal('job.start'), timestamp: Instant.describe('when the event happened'), data: Job });
export const JobCompletedEvent = z.object({ type: z.literal('job.completed'), timestamp: Instant.describe('when the event happened'), data: Job });
export const BatchEvent = z.object({ type: z.literal('batch.completed'), timestamp: Instant.describe('when the event happened'), data: Batch });

export const BatchList = z.object({
  object: z.literal('list'),
  data: z.array(Batch).describe('newest first'),
  first_id: z.string().nullable(),
  last_id: z.string().nullable().describe('the next page: ?after=<last_id>'),
  has_more: z.boolean(),
});

export const Status = z.object({
  generated_at: Instant,
  window_s: z.number(),
  models: z.array(z.object({ name: z.string(), versions: z.array(z.object({ version: z.number() }).passthrough()), throughput: z.unknown() })),
  workers: z.array(z.object({ id: z.string() }).passthrough()),
  series: z.array(z.object({ at: z.number(), jobs_per_s: z.number() }).passthrough()),
  failures: z.array(z.object({ id: z.string() }).passthrough()),
});

/**
 * The shapes the document names (`components.schemas`, referred to by `$ref`), so a client
 * generated from it gets types called Job, Batch, Problem… instead of the same object inlined
 * at every use. Named in zod's global registry, beside their descriptions (`z.toJSONSchema`
 * reads both from there): `name` adds an `id` to what is registered already.
 */
export function name(schemas: Record<string, z.ZodType>): void {
  for (const [id, schema] of Object.entries(schemas)) z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
}

name({
  Problem, V2Problem, Tensor, TensorSpec, JobError, Job, JobHeader, Batch, BatchList, BatchRequestLine, BatchResultLine, InferResponse, InferResponseHeader,
  ModelMetadata, ModelListing, ModelList, ServerMetadata, WebhookSecret, Delivery, DeliveryList, JobStartEvent, JobCompletedEvent, BatchEvent,
});
