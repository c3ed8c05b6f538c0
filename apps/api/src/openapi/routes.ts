/**
 * Every HTTP route, as the OpenAPI document describes it: method, path, the zod schemas the
 * route parses its input with (the same objects, imported from the routes), and the answers
 * it gives (status → content type and schema). document.ts turns this table into OpenAPI 3.1.
 */
import { z } from 'zod';
import { JobRequest } from '@maas/shared';
import { BatchQuery, NDJSON_TYPES, NPY_TYPES } from '../routes/batches.js';
import { InferRequest } from '../routes/kserve.js';
import * as S from './schemas.js';

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';
export const PROM_TYPE = 'text/plain';
export const HTML_TYPE = 'text/html';
export const NDJSON_TYPE = 'application/x-ndjson';
export const NPY_TYPE = 'application/x-npy';

export interface Answer {
  description: string;
  /** content type → schema (undefined: not described beyond its type) */
  content: Record<string, z.ZodType | undefined>;
  headers?: string[];
}

export interface Route {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: 'KServe v2' | 'Jobs' | 'Batches' | 'Models' | 'Webhooks' | 'Operations' | 'Admin';
  /** no API key needed */
  open?: boolean;
  /** the admin key (ADMIN_KEY) instead of a tenant key */
  admin?: boolean;
  query?: z.ZodObject;
  body?: { contentTypes: string[]; schema?: z.ZodType; description?: string };
  headers?: { name: string; description: string }[];
  answers: Record<number, Answer>;
}

const json = (schema: z.ZodType, description: string, headers?: string[]): Answer => ({ description, content: { [JSON_TYPE]: schema }, ...(headers ? { headers } : {}) });
const problem = (description: string, headers?: string[]): Answer => ({ description, content: { [PROBLEM_TYPE]: S.Problem }, ...(headers ? { headers } : {}) });

/** Answers every authenticated route may give. */
const common = {
  401: problem('missing or unrecognised API key', ['WWW-Authenticate']),
  429: problem('rate limited (requests a second) or over a quota', ['Retry-After']),
  503: problem('Redis unreachable', ['Retry-After']),
};
const notFound = problem('unknown model, version, job, batch or event (also another tenant\'s)');
const invalid = problem('invalid input (each issue listed in `errors`)');
const unsupported = problem('unsupported Content-Type or Content-Encoding');

/** `?wait=N` (read by http/wait.ts queryWait, which answers 400 for anything but seconds). */
const WaitQuery = z.object({ wait: z.string().regex(/^\d+(\.\d+)?$/).optional().describe('seconds to long-poll for the job to end (clamped to MAX_WAIT_S)') });

const modelPaths = (suffix: string) => [`/v2/models/{model}${suffix}`, `/v2/models/{model}/versions/{version}${suffix}`];

export const ROUTES: Route[] = [
  { method: 'get', path: '/v2/health/live', summary: 'Liveness', tag: 'KServe v2', open: true, answers: { 200: json(S.Live, 'the process runs') } },
  {
    method: 'get', path: '/v2/health/ready', summary: 'Readiness: Redis reachable and models loaded (workers not required)', tag: 'KServe v2', open: true,
    answers: { 200: json(S.Ready, 'ready'), 503: json(S.Ready, 'not ready') },
  },
  { method: 'get', path: '/v2', summary: 'Server metadata', tag: 'KServe v2', answers: { 200: json(S.ServerMetadata, 'server metadata'), ...common } },
  ...modelPaths('').map((path): Route => ({
    method: 'get', path, summary: 'Model metadata', tag: 'KServe v2', answers: { 200: json(S.ModelMetadata, 'inputs, outputs, versions'), 404: notFound, ...common },
  })),
  ...modelPaths('/ready').map((path): Route => ({
    method: 'get', path, summary: 'Model readiness: 200 once a live worker serves it', tag: 'KServe v2',
    answers: { 200: json(S.ModelReady, 'served'), 404: notFound, ...common, 503: problem('no live worker serves it yet (or Redis unreachable)') },
  })),
  ...modelPaths('/infer').map((path): Route => ({
    method: 'post', path, summary: 'Synchronous inference, through the same queue and batcher', tag: 'KServe v2',
    body: { contentTypes: [JSON_TYPE], schema: InferRequest, description: 'KServe v2 request; or the binary tensor extension with Inference-Header-Content-Length' },
    answers: {
      200: json(S.InferResponse, 'outputs', ['X-Job-Id']), 400: invalid, 404: notFound, 413: problem('body too large'), 415: unsupported,
      ...common, 500: problem('the model failed on this input'), 504: problem('no result within INFER_TIMEOUT_S; the job goes on'),
    },
  })),
  {
    method: 'post', path: '/v1/jobs', summary: 'Create an asynchronous job', tag: 'Jobs',
    headers: [{ name: 'Idempotency-Key', description: 'same key and body → same job; another body → 409' }, { name: 'Prefer', description: 'wait=N: answer 200 if the job ends within N s' }],
    body: { contentTypes: [JSON_TYPE], schema: JobRequest },
    answers: {
      200: json(S.Job, 'finished within Prefer: wait', ['Location']), 202: json(S.Job, 'queued', ['Location']), 400: invalid,
      403: problem('a priority reserved to other tenants (PRIORITY_FLOOR)'), 404: notFound, 409: problem('Idempotency-Key reused with another body'),
      413: problem('body too large'), 415: unsupported, ...common,
    },
  },
  {
    method: 'get', path: '/v1/jobs/{id}', summary: 'Read a job (long-poll with ?wait=N)', tag: 'Jobs',
    query: WaitQuery, answers: { 200: json(S.Job, 'the job'), 400: invalid, 404: notFound, ...common },
  },
  { method: 'post', path: '/v1/jobs/{id}/cancel', summary: 'Cancel a job', tag: 'Jobs', answers: { 200: json(S.Job, 'the job, canceled unless it had ended'), 404: notFound, ...common } },
  {
    method: 'post', path: '/v1/batches', summary: 'Submit a batch (NDJSON lines, or a NumPy array), read as a stream', tag: 'Batches',
    query: BatchQuery,
    body: { contentTypes: [...NDJSON_TYPES.slice(0, 1), ...NPY_TYPES.slice(0, 1)], description: 'one request a line: {"custom_id", "inputs"}' },
    answers: { 202: json(S.Batch, 'accepted', ['Location']), 400: invalid, 404: notFound, 413: problem('too many lines, or a line too large'), 415: unsupported, ...common },
  },
  { method: 'get', path: '/v1/batches/{id}', summary: 'Read a batch', tag: 'Batches', answers: { 200: json(S.Batch, 'the batch'), 404: notFound, ...common } },
  { method: 'post', path: '/v1/batches/{id}/cancel', summary: 'Cancel a batch', tag: 'Batches', answers: { 200: json(S.Batch, 'the batch'), 404: notFound, ...common } },
  {
    method: 'get', path: '/v1/batches/{id}/results', summary: 'Results, one line per input line, in input order', tag: 'Batches',
    answers: {
      200: { description: 'NDJSON results (or one output as .npy with Accept: application/x-npy)', content: { [NDJSON_TYPE]: undefined, [NPY_TYPE]: undefined } },
      404: notFound, 406: problem('.npy asked for results an array cannot hold'), 409: problem('the batch has not completed'), ...common,
    },
  },
  { method: 'get', path: '/v1/models', summary: 'Served models', tag: 'Models', answers: { 200: json(S.ModelList, 'models'), ...common } },
  { method: 'get', path: '/v1/models/{model}', summary: 'One served model', tag: 'Models', answers: { 200: json(S.ModelListing, 'the model'), 404: notFound, ...common } },
  { method: 'get', path: '/v1/webhooks/secret', summary: "The calling tenant's own signing secret (generated on first use)", tag: 'Webhooks', answers: { 200: json(S.WebhookSecret, 'the secret'), ...common } },
  {
    method: 'post', path: '/v1/webhooks/secret/rotate', summary: 'Start a new signing secret; the old one keeps signing beside it for the overlap', tag: 'Webhooks',
    answers: { 200: json(S.WebhookSecret, 'the new secret, and those still signing'), 409: problem('the secret is set by WEBHOOK_SECRET'), ...common },
  },
  ...['jobs', 'batches'].flatMap((kind): Route[] => [
    { method: 'get', path: `/v1/${kind}/{id}/webhooks`, summary: 'Webhook events and their delivery attempts', tag: 'Webhooks', answers: { 200: json(S.DeliveryList, 'events'), 404: notFound, ...common } },
    { method: 'post', path: `/v1/${kind}/{id}/webhooks/{msgId}/redeliver`, summary: 'Send an event again', tag: 'Webhooks', answers: { 202: json(S.Delivery, 'queued again'), 404: notFound, ...common } },
  ]),
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of the API and every live worker', tag: 'Operations', answers: { 200: { description: 'Prometheus text', content: { [PROM_TYPE]: undefined } }, ...common } },
  { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'Operations', answers: { 200: { description: 'OpenAPI 3.1', content: { [JSON_TYPE]: undefined } }, ...common } },
  ...[
    { path: '/admin', summary: 'Status page (refreshes by itself)', content: { [HTML_TYPE]: undefined } },
    { path: '/admin/status.json', summary: "The status page's data", content: { [JSON_TYPE]: S.Status } },
    { path: '/admin/queues', summary: 'Queue board (@bull-board)', content: { [HTML_TYPE]: undefined } },
  ].map(({ path, summary, content }): Route => ({
    method: 'get', path, summary, tag: 'Admin', admin: true,
    answers: { 200: { description: summary, content }, 401: problem('the admin key is required', ['WWW-Authenticate']), 403: problem('closed: API_KEYS is set and ADMIN_KEY is not'), 503: common[503] },
  })),
];
