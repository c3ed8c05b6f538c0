/**
 * Every HTTP route, as the OpenAPI document describes it: method, path, the zod schemas the
 * route parses its input with (the same objects, imported from the routes), and the answers
 * it gives (status → content type and schema). document.ts turns this table into OpenAPI 3.1.
 */
import { z } from 'zod';
import { JobRequest } from '@maas/shared';
import { framedRequestHeader, HEADER_LENGTH } from '../binary/framing.js';
import { V2_PATH } from '../http/problem.js';
import { WAIT_SECONDS } from '../http/wait.js';
import { BatchListQuery, BatchQuery, NDJSON_TYPES, NPY_TYPES, ResultsQuery } from '../routes/batches.js';
import { InferRequest } from '../routes/kserve.js';
import { MAX_IDEMPOTENCY_KEY } from '../services/idempotency.js';
import { IndexRequest, ModelStatsResponse, RepositoryAnswer, RepositoryIndex, RepositoryModelRequest } from '../routes/triton.js';
import { ModelConfig } from '../views/triton-config.js';
import * as S from './schemas.js';

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';
export const PROM_TYPE = 'text/plain';
export const HTML_TYPE = 'text/html';
export const NDJSON_TYPE = 'application/x-ndjson';
export const NPY_TYPE = 'application/x-npy';
/** The binary tensor extension's content type (Triton's: JSON header, then raw tensor bytes). */
export const BINARY_TYPE = 'application/octet-stream';
/** Content types whose bodies are bytes, not text. */
export const BYTES_TYPES: ReadonlySet<string> = new Set([...NPY_TYPES, BINARY_TYPE]);

/**
 * A body in the binary tensor extension: `Inference-Header-Content-Length` bytes of JSON
 * (described by `framed`), then the raw bytes of every tensor with `parameters.binary_data_size`.
 */
export interface Framed {
  framed: z.ZodType;
}

/** A body of lines (NDJSON), each one `lines` (documented as `x-item-schema`: OpenAPI 3.1 types no line). */
export interface Lines {
  lines: z.ZodType;
}

export interface Answer {
  description: string;
  /** content type → schema (undefined: not described beyond its type); none for an answer without a body (a 304) */
  content?: Record<string, z.ZodType | Framed | Lines | undefined>;
  headers?: string[];
}

export interface Route {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: 'KServe v2' | 'Triton' | 'Jobs' | 'Batches' | 'Models' | 'Webhooks' | 'Operations' | 'Admin';
  /** no API key needed */
  open?: boolean;
  /** the admin key (ADMIN_KEY) instead of a tenant key */
  admin?: boolean;
  query?: z.ZodObject;
  /** what a query parameter read from its text is (the document's schema for it): numbers, booleans */
  queryTypes?: Record<string, Record<string, unknown>>;
  body?: {
    contentTypes: string[];
    schema?: z.ZodType | Lines;
    /** the JSON header of the binary tensor extension, offered as application/octet-stream beside JSON */
    framed?: z.ZodType;
    description?: string;
    /** the body may be left out */
    optional?: boolean;
  };
  headers?: { name: string; description: string; schema?: Record<string, unknown> }[];
  answers: Record<number, Answer>;
  /** a GET whose HEAD is documented too (the same answers without their bodies; express serves HEAD on every GET) */
  head?: boolean;
}

const json = (schema: z.ZodType, description: string, headers?: string[]): Answer => ({ description, content: { [JSON_TYPE]: schema }, ...(headers ? { headers } : {}) });
const problem = (description: string, headers?: string[]): Answer => ({ description, content: { [PROBLEM_TYPE]: S.Problem }, ...(headers ? { headers } : {}) });

/** Answers every authenticated route may give. */
/** Loading and unloading change a model for every tenant: the admin key's (http/admin-auth.ts `repositoryControl`). */
const repositoryControl = {
  401: problem('the admin key is required (loading and unloading change a model for every tenant)', ['WWW-Authenticate']),
  403: problem('a tenant key, or API_KEYS set without ADMIN_KEY'),
};

const common = {
  401: problem('missing or unrecognised API key', ['WWW-Authenticate']),
  429: problem('rate limited (requests a second), over a quota, or (creating work) the queue is full (`queue-full`, MAX_QUEUE_DEPTH)', ['Retry-After']),
  503: problem('Redis unreachable', ['Retry-After']),
};

/** What ADMIN_KEY may not do (a tenant's jobs, batches, webhooks): a 403. */
const ADMIN_KEY_403 = 'ADMIN_KEY, which reads models and metrics and runs no job: a tenant key is needed';

/** Answers of a route only a tenant's key opens (not ADMIN_KEY's). */
const tenantOnly = { ...common, 403: problem(ADMIN_KEY_403) };
const notFound = problem('unknown model, version, job, batch or event (also another tenant\'s)');
const invalid = problem('invalid input (each issue listed in `errors`)');
const unsupported = problem('unsupported Content-Type or Content-Encoding');

/** `?wait=N` (read by http/wait.ts queryWait, which answers 400 for anything but seconds). */
const WaitQuery = z.object({ wait: z.string().regex(WAIT_SECONDS).optional().describe('seconds to long-poll for the job, or batch, to end (clamped to MAX_WAIT_S)') });
const waitTypes = { wait: { type: 'number', minimum: 0 } };

const modelPaths = (suffix: string) => [`/v2/models/{model}${suffix}`, `/v2/models/{model}/versions/{version}${suffix}`];

/** What the inference routes (http/infer-body.ts) take: JSON, with or without a Content-Type, or the binary tensor extension. */
const inferBody = (schema: z.ZodObject, what: string): NonNullable<Route['body']> => ({
  contentTypes: [JSON_TYPE],
  schema,
  framed: framedRequestHeader(schema),
  description:
    `${what} as JSON (a POST without Content-Type, or with a client's default \`application/x-www-form-urlencoded\` or \`text/plain\`, is read as JSON, as KServe and Triton clients send it and Triton reads any body), ` +
    `or in the binary tensor extension (${HEADER_LENGTH} set; any Content-Type): that many bytes of JSON header, then the raw ` +
    'little-endian, row-major bytes of every input with `parameters.binary_data_size`, in header order (BYTES: a 4-byte length before each element)',
});
const framedHeader = {
  name: HEADER_LENGTH,
  description: 'binary tensor extension: bytes of JSON header at the start of the body; the rest are the inputs with `parameters.binary_data_size`',
  schema: { type: 'integer', minimum: 1 },
};
/** An answer with outputs (http/send-outputs.ts): JSON, or framed when an output was asked for in binary. */
const outputs = (schema: z.ZodType, header: z.ZodType, description: string, headers: string[]): Answer => ({
  description: `${description}; in the binary tensor extension (${HEADER_LENGTH} bytes of JSON header, then the outputs asked for with \`binary_data\`) when any is`,
  content: { [JSON_TYPE]: schema, [BINARY_TYPE]: { framed: header } },
  headers: [...headers, HEADER_LENGTH],
});
/** Body of the repository routes: JSON, optional (absent, empty or not JSON: `{}`). */
const repositoryBody = (schema: z.ZodType, description: string): NonNullable<Route['body']> => ({ contentTypes: [JSON_TYPE], schema, optional: true, description });

/** On `/v2` routes every problem also carries `error` (http/problem.ts). */
const withV2Problems = (route: Route): Route =>
  !V2_PATH.test(route.path)
    ? route
    : {
        ...route,
        answers: Object.fromEntries(
          Object.entries(route.answers).map(([status, a]) => [status, { ...a, content: Object.fromEntries(Object.entries(a.content ?? {}).map(([t, s]) => [t, s === S.Problem ? S.V2Problem : s])) }]),
        ),
      };

/**
 * A path parameter that is not valid percent-encoding (`/v1/jobs/%zz`) is a 400 on any route that
 * has one (http/problem.ts); a POST's body that is not JSON too (withBodyProblems).
 */
const withBadPath = (route: Route): Route =>
  route.path.includes('{') && !route.answers[400]
    ? { ...route, answers: { ...route.answers, 400: problem(`a path segment that is not valid percent-encoding${route.method === 'post' ? ', or a body that is not JSON (when sent as JSON)' : ''}`) } }
    : route;

const TABLE: Route[] = [
  { method: 'get', path: '/v2/health/live', summary: 'Liveness', tag: 'KServe v2', open: true, answers: { 200: json(S.Live, 'the process runs') } },
  {
    method: 'get', path: '/v2/health/ready', summary: 'Readiness: Redis reachable (workers and loaded models not required, as in Triton)', tag: 'KServe v2', open: true,
    answers: { 200: json(S.Ready, 'ready'), 503: problem('not ready (`not-ready`): Redis unreachable; the problem also carries `ready`, `redis` and `models`') },
  },
  { method: 'get', path: '/v2', summary: 'Server metadata', tag: 'KServe v2', answers: { 200: json(S.ServerMetadata, 'server metadata'), ...common } },
  ...modelPaths('').map((path): Route => ({
    method: 'get', path, summary: 'Model metadata', tag: 'KServe v2', answers: { 200: json(S.ModelMetadata, 'inputs, outputs, versions'), 404: notFound, ...common },
  })),
  ...modelPaths('/ready').map((path): Route => ({
    method: 'get', path, summary: 'Model readiness: 200 once a live worker serves it', tag: 'KServe v2',
    answers: { 200: json(S.ModelReady, 'served'), 404: notFound, ...common, 503: problem('no live worker serves it yet, or Redis unreachable (then with Retry-After)', ['Retry-After']) },
  })),
  ...modelPaths('/infer').map((path): Route => ({
    method: 'post', path, summary: 'Synchronous inference, through the same queue and batcher', tag: 'KServe v2',
    headers: [framedHeader],
    body: inferBody(InferRequest, 'a KServe v2 request'),
    answers: {
      200: outputs(S.InferResponse, S.InferResponseHeader, 'outputs', ['X-Job-Id']), 400: invalid,
      404: notFound, 413: problem('body too large'), 415: unsupported,
      ...tenantOnly, 403: problem(`a \`priority\` request parameter reserved to other tenants (PRIORITY_FLOOR), or ${ADMIN_KEY_403}`), 500: problem('the model failed on this input'), 504: problem('no result within INFER_TIMEOUT_S, or its `timeout` parameter passed before a worker took it (X-Job-Id: the job, which goes on)', ['X-Job-Id']),
    },
  })),
  ...modelPaths('/config').map((path): Route => ({
    method: 'get', path, summary: "Triton model configuration (model_config.proto's field names)", tag: 'Triton',
    answers: { 200: json(ModelConfig, 'the configuration of the version (without one: the newest served)'), 404: notFound, ...common },
  })),
  { method: 'get', path: '/v2/models/stats', summary: 'Triton statistics of every served version of every model', tag: 'Triton', answers: { 200: json(ModelStatsResponse, 'statistics'), ...common } },
  ...modelPaths('/stats').map((path): Route => ({
    method: 'get', path, summary: 'Triton statistics of every served version of the model, or of one version', tag: 'Triton',
    answers: { 200: json(ModelStatsResponse, 'statistics'), 404: notFound, ...common },
  })),
  {
    method: 'post', path: '/v2/repository/index', summary: 'Triton repository index: every model folder, each served version READY', tag: 'Triton',
    body: repositoryBody(IndexRequest, '`{"ready": true}` lists only the READY entries'),
    answers: { 200: json(RepositoryIndex, 'the index'), 400: invalid, 413: problem('body too large'), 415: unsupported, ...common },
  },
  {
    method: 'post', path: '/v2/repository/models/{model}/load', summary: 'Load (or reload) a model from the repository; every API and worker follows', tag: 'Triton', admin: true,
    body: repositoryBody(RepositoryModelRequest, "Triton's request; its `config` and `file:…` parameters are refused (400: a load reads the repository), others ignored"),
    answers: {
      200: json(RepositoryAnswer, 'loaded: every live worker that would serve it serves it (at once when none would)'), 400: problem('invalid body, or a model folder that cannot be served (the reason)'), 404: notFound, 413: problem('body too large'), 415: unsupported, ...common, ...repositoryControl,
      503: problem('model-not-ready: loaded, but no live worker that would serve it could open it (or none within 10 s); or Redis unreachable (then with Retry-After)', ['Retry-After']),
    },
  },
  {
    method: 'post', path: '/v2/repository/models/{model}/unload', summary: 'Unload a model: new requests get 404 at once, queued jobs still run', tag: 'Triton', admin: true,
    body: repositoryBody(RepositoryModelRequest, "Triton's request; its parameters are ignored"),
    answers: { 200: json(RepositoryAnswer, 'unloaded'), 400: invalid, 404: notFound, 413: problem('body too large'), 415: unsupported, ...common, ...repositoryControl },
  },
  {
    method: 'post', path: '/v1/jobs', summary: 'Create an asynchronous job', tag: 'Jobs',
    headers: [
      { name: 'Idempotency-Key', description: 'same key and body → same job; another body → 409', schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY } },
      { name: 'Prefer', description: 'wait=N: answer 200 if the job ends within N s (at most MAX_WAIT_S); a bare wait waits the longest' },
      framedHeader,
    ],
    body: inferBody(JobRequest, 'the job'),
    answers: {
      200: outputs(S.Job, S.JobHeader, 'finished within Prefer: wait (Preference-Applied: wait=N; Idempotent-Replayed: true for a repeated Idempotency-Key)', ['Location', 'Preference-Applied', 'Idempotent-Replayed']),
      202: outputs(S.Job, S.JobHeader, 'queued (or, for a repeated Idempotency-Key, the job as it is: Idempotent-Replayed: true); with Prefer: wait, not ended within it (Preference-Applied: wait=N)', ['Location', 'Preference-Applied', 'Idempotent-Replayed']), 400: invalid,
      404: notFound, 409: problem('Idempotency-Key reused with another body'),
      413: problem('body too large'), 415: unsupported, ...tenantOnly, 403: problem(`a priority reserved to other tenants (PRIORITY_FLOOR), or ${ADMIN_KEY_403}`),
    },
  },
  {
    method: 'get', path: '/v1/jobs/{id}', summary: 'Read a job (long-poll with ?wait=N)', tag: 'Jobs',
    query: WaitQuery, queryTypes: waitTypes,
    answers: { 200: {
        description: `the job; to a client whose Accept prefers application/octet-stream, once it has outputs, in the binary tensor extension (${HEADER_LENGTH} bytes of JSON header, then every output's bytes)`,
        content: { [JSON_TYPE]: S.Job, [BINARY_TYPE]: { framed: S.JobHeader } }, headers: ['Vary', HEADER_LENGTH],
      }, 400: invalid, 404: notFound, ...tenantOnly },
  },
  { method: 'post', path: '/v1/jobs/{id}/cancel', summary: 'Cancel a job', tag: 'Jobs', answers: { 200: json(S.Job, 'the job, canceled unless it had ended'), 404: notFound, ...tenantOnly } },
  {
    method: 'post', path: '/v1/batches', summary: 'Submit a batch (NDJSON lines, or a NumPy array), read as a stream', tag: 'Batches',
    query: BatchQuery, queryTypes: { version: { type: 'integer', minimum: 1, maximum: 999_999_999 } },
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'names the upload: the same key for the same model, version, webhook and format → that batch, its body not read (Idempotent-Replayed: true); another target, or that upload still under way → 409',
        schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY },
      },
    ],
    body: {
      contentTypes: [...NDJSON_TYPES, ...NPY_TYPES], schema: { lines: S.BatchRequestLine },
      description: 'one request a line (BatchRequestLine): {"custom_id", "inputs"}; or a NumPy array (.npy) of the model\'s single input, row i becoming result line i with custom_id "i"',
    },
    answers: {
      202: json(S.Batch, 'accepted (or, for a repeated Idempotency-Key, the batch it named: Idempotent-Replayed: true)', ['Location', 'Idempotent-Replayed']),
      400: invalid, 404: notFound, 409: problem('Idempotency-Key reused for another target, or its upload still under way'),
      413: problem('too many lines, a line too large, or a chunk of rows that alone passes the tenant\'s queued-rows quota'), 415: unsupported, ...tenantOnly,
    },
  },
  {
    method: 'get', path: '/v1/batches/{id}', summary: 'Read a batch (long-poll with ?wait=N: answers when it completes)', tag: 'Batches',
    query: WaitQuery, queryTypes: waitTypes, answers: { 200: json(S.Batch, 'the batch'), 400: invalid, 404: notFound, ...tenantOnly },
  },
  {
    method: 'get', path: '/v1/batches', summary: "A page of the tenant's batches, newest first (next page: ?after=<last_id>)", tag: 'Batches',
    query: BatchListQuery, queryTypes: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }, answers: { 200: json(S.BatchList, 'the batches'), 400: invalid, ...tenantOnly },
  },
  { method: 'post', path: '/v1/batches/{id}/cancel', summary: 'Cancel a batch', tag: 'Batches', answers: { 200: json(S.Batch, 'the batch'), 404: notFound, ...tenantOnly } },
  {
    method: 'get', path: '/v1/batches/{id}/results', summary: 'Results, one line per input line, in input order', tag: 'Batches',
    query: ResultsQuery, queryTypes: { failed: { type: 'boolean' } }, head: true,
    headers: [
      { name: 'Range', description: 'one byte range of the results (`bytes=N-`, `bytes=N-M`, `bytes=-N`), counted in their bytes unencoded: a 206; several ranges, or another unit, get the whole answer' },
      { name: 'If-Range', description: 'the strong ETag, or the Last-Modified date, of the answer a part is asked of: another tag or date gets the whole answer' },
      { name: 'If-None-Match', description: 'ETags the client holds the results as: a 304 when one is theirs' },
      { name: 'If-Modified-Since', description: 'without If-None-Match: a 304 when the results (Last-Modified) are no later' },
      { name: 'If-Match', description: 'ETags (strong comparison) the results must have, or `*`: a 412 otherwise' },
      { name: 'If-Unmodified-Since', description: 'without If-Match: a 412 when the results (Last-Modified) are later' },
    ],
    answers: {
      200: { description: 'NDJSON results (or one output as .npy when Accept prefers application/x-npy and the batch can give it; else NDJSON when Accept allows it too). `Accept-Ranges: bytes`, `Last-Modified` (the batch\'s end) and an `ETag` (weak when the answer may go compressed)', content: { [NDJSON_TYPE]: { lines: S.BatchResultLine }, [NPY_TYPE]: undefined }, headers: ['Vary', 'Accept-Ranges', 'ETag', 'Last-Modified'] },
      304: { description: 'the client holds these results already (If-None-Match, or If-Modified-Since)', headers: ['ETag', 'Last-Modified', 'Accept-Ranges'] },
      412: problem('If-Match names none of the results\' tags, or If-Unmodified-Since is earlier than their Last-Modified'),
      206: { description: 'the part of the results a `Range` asked for, never compressed', content: { [NDJSON_TYPE]: { lines: S.BatchResultLine }, [NPY_TYPE]: undefined }, headers: ['Content-Range', 'Accept-Ranges', 'ETag', 'Vary', 'Last-Modified'] },
      400: problem('?output= names no output of the model, or is repeated'), 404: notFound,
      406: problem('.npy asked for results an array cannot hold, and NDJSON not acceptable'), 409: problem('the batch has not completed (Retry-After: a poller\'s pace; `?wait=N` on the batch answers at its end)', ['Retry-After']),
      416: problem('a Range that starts past the end of the results (`length` in the body, as in Content-Range)', ['Content-Range']), ...tenantOnly,
    },
  },
  { method: 'get', path: '/v1/models', summary: 'Served models', tag: 'Models', answers: { 200: json(S.ModelList, 'models'), ...common } },
  { method: 'get', path: '/v1/models/{model}', summary: 'One served model', tag: 'Models', answers: { 200: json(S.ModelListing, 'the model'), 404: notFound, ...common } },
  { method: 'get', path: '/v1/webhooks/secret', summary: "The calling tenant's own signing secret (generated on first use)", tag: 'Webhooks', answers: { 200: json(S.WebhookSecret, 'the secret', ['Cache-Control']), ...tenantOnly } },
  {
    method: 'post', path: '/v1/webhooks/secret/rotate', summary: 'Start a new signing secret; the old one keeps signing beside it for the overlap', tag: 'Webhooks',
    answers: { 200: json(S.WebhookSecret, 'the new secret, and those still signing', ['Cache-Control']), 409: problem('the secret is set by WEBHOOK_SECRET'), ...tenantOnly },
  },
  ...['jobs', 'batches'].flatMap((kind): Route[] => [
    { method: 'get', path: `/v1/${kind}/{id}/webhooks`, summary: 'Webhook events and their delivery attempts', tag: 'Webhooks', answers: { 200: json(S.DeliveryList, 'events'), 404: notFound, ...tenantOnly } },
    { method: 'post', path: `/v1/${kind}/{id}/webhooks/{msgId}/redeliver`, summary: 'Send an event again', tag: 'Webhooks', answers: { 202: json(S.Delivery, 'queued again (Location: the history its attempts show in)', ['Location']), 404: notFound, ...tenantOnly } },
  ]),
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of the API and every live worker (a tenant key, or ADMIN_KEY)', tag: 'Operations', answers: { 200: { description: 'Prometheus text', content: { [PROM_TYPE]: undefined } }, ...common } },
  { method: 'get', path: '/openapi.json', summary: 'This document (a tenant key, or ADMIN_KEY)', tag: 'Operations', answers: { 200: { description: 'OpenAPI 3.1', content: { [JSON_TYPE]: undefined } }, ...common } },
  ...[
    { path: '/admin', summary: 'Status page (refreshes by itself)', content: { [HTML_TYPE]: undefined } },
    { path: '/admin/status.json', summary: "The status page's data", content: { [JSON_TYPE]: S.Status } },
    { path: '/admin/queues', summary: "Queue board (@bull-board); the pages and JSON under /admin/queues/ are bull-board's own, read-only (a write is a 405, its JSON a 503 while Redis does not answer)", content: { [HTML_TYPE]: undefined } },
  ].map(({ path, summary, content }): Route => ({
    method: 'get', path, summary, tag: 'Admin', admin: true,
    answers: { 200: { description: summary, content }, 401: problem('the admin key is required', ['WWW-Authenticate']), 403: problem('closed: API_KEYS is set and ADMIN_KEY is not'), 503: common[503] },
  })),
];

/**
 * A POST's body goes through the same checks before its route (app.ts), whatever the route reads
 * of it: malformed JSON is a 400, one over MAX_BODY_MB a 413, an unknown encoding or charset a 415.
 */
const withBodyProblems = (route: Route): Route =>
  route.method !== 'post' ? route : {
    ...route,
    answers: {
      400: problem('a body that is not JSON (when sent as JSON)'), 413: problem('body over MAX_BODY_MB'), 415: unsupported,
      ...route.answers,
    },
  };

export const ROUTES: Route[] = TABLE.map(withBadPath).map(withBodyProblems).map(withV2Problems);
