/**
 * The closed set of errors the service reports, and how each maps to HTTP.
 *
 * Services throw these; one place (`apps/api/src/http/problem.ts`) turns them into RFC 9457
 * `application/problem+json` (`http/client-error.ts` writes the same shape for a request that
 * fails before express sees it). A job's `error.type` is one of these types or one of the
 * endings only a job has (`JobErrorType`, contract/job.ts), so it speaks the API's language.
 */

export const PROBLEMS = {
  'invalid-input': { status: 400, title: 'Invalid input' },
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'malformed-body': { status: 400, title: 'Malformed request body' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'idempotency-conflict': { status: 409, title: 'Idempotency key conflict' },
  'batch-not-finished': { status: 409, title: 'Batch not finished' },
  'secret-from-config': { status: 409, title: 'Secret set by configuration' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'range-not-satisfiable': { status: 416, title: 'Range not satisfiable' },
  'queue-full': { status: 429, title: 'Queue full' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'quota-exceeded': { status: 429, title: 'Quota exceeded' },
  'inference-failed': { status: 500, title: 'Inference failed' },
  internal: { status: 500, title: 'Internal server error' },
  'redis-unavailable': { status: 503, title: 'Redis unavailable' },
  'model-not-ready': { status: 503, title: 'Model not ready' },
  'not-ready': { status: 503, title: 'Not ready' },
  'shutting-down': { status: 503, title: 'Shutting down' },
  timeout: { status: 504, title: 'Timed out waiting for the result' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEMS;

/** The `type` URI of a problem (RFC 9457 §3.1.1); documented in the README. */
export function problemTypeUri(type: ProblemType): string {
  return `urn:maas:problem:${type}`;
}

/** One reason an input was rejected; `path` points into the request (`inputs[0].shape`). */
export interface InputIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly status: number;
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = PROBLEMS[type].status;
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

/**
 * Problems an answer lists at most (in `detail` and `errors`): a request of a million bad
 * elements had its 400 grow to 200 MB, built and sent while every other request waited. The
 * rest are counted (`and N more`); fixing the first ones shows the next.
 */
export const MAX_ISSUES_SHOWN = 100;

export class ValidationError extends AppError {
  override readonly name = 'ValidationError';
  constructor(
    readonly issues: InputIssue[],
    detail = describeIssues(issues),
  ) {
    super('invalid-input', detail, { errors: issues.length > MAX_ISSUES_SHOWN ? issues.slice(0, MAX_ISSUES_SHOWN) : issues });
  }
}

/** PURE: the first MAX_ISSUES_SHOWN issues as one line, `path: message; …`, and how many more there are. */
export function describeIssues(issues: readonly InputIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return issues.length > MAX_ISSUES_SHOWN ? `${shown}; and ${issues.length - MAX_ISSUES_SHOWN} more problems` : shown;
}

export class MalformedJsonError extends AppError {
  override readonly name = 'MalformedJsonError';
  constructor(detail: string, cause?: unknown) {
    super('malformed-json', detail, {}, { cause });
  }
}

/** A body that cannot be read at all: corrupt compression, broken framing. */
export class MalformedBodyError extends AppError {
  override readonly name = 'MalformedBodyError';
  constructor(detail: string, cause?: unknown) {
    super('malformed-body', detail, {}, { cause });
  }
}

/**
 * A 401 with its Bearer challenge (RFC 6750 §3): bare for a request that presented no token,
 * `error="invalid_token"` for one whose token was not recognised (`invalidToken`).
 */
export class UnauthorizedError extends AppError {
  override readonly name = 'UnauthorizedError';
  constructor(detail = 'A valid API key is required: Authorization: Bearer <key>', invalidToken = false) {
    super('unauthorized', detail, {}, { headers: { 'WWW-Authenticate': invalidToken ? 'Bearer error="invalid_token"' : 'Bearer' } });
  }
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  constructor(kind: string, id: string) {
    super('not-found', `${kind} '${id}' not found`);
  }
}

export class IdempotencyConflictError extends AppError {
  override readonly name = 'IdempotencyConflictError';
  /** `retryAfterSeconds`: the conflict passes on its own (the key's first request is still under way) */
  constructor(key: string, why = 'was already used with a different request body', retryAfterSeconds?: number) {
    super('idempotency-conflict', `Idempotency-Key '${key}' ${why}`, {}, retryAfterSeconds === undefined ? {} : { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}

export class PayloadTooLargeError extends AppError {
  override readonly name: string = 'PayloadTooLargeError';
  constructor(detail: string) {
    super('payload-too-large', detail);
  }
}

export class QueueFullError extends AppError {
  override readonly name = 'QueueFullError';
  constructor(queue: string, depth: number, retryAfterSeconds: number) {
    super('queue-full', `Queue for ${queue} holds ${depth} jobs; retry later`, {}, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

export class RateLimitedError extends AppError {
  override readonly name = 'RateLimitedError';
  constructor(limit: number, retryAfterSeconds: number) {
    super('rate-limited', `more than ${limit} requests a second for this API key; retry later`, {}, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

const REDIS_TROUBLE = {
  unreachable: 'Redis is unreachable',
  silent: 'Redis did not answer in time (it holds the connection without answering: paused, swapping)',
  'out-of-memory': 'Redis is out of memory',
  'read-only': 'Redis is read-only (a failover may be in progress)',
  'refusing-writes': 'Redis refuses writes',
  'lost-data': 'Redis lost part of this request\'s records (it restarted empty, was flushed or was restored from an older copy meanwhile)',
} as const;

/** A tenant's queued rows would pass its quota (jobs and batch uploads together). */
export class QuotaExceededError extends AppError {
  override readonly name = 'QuotaExceededError';
  constructor(tenant: string, queued: number, limit: number, retryAfterSeconds: number) {
    super('quota-exceeded', `tenant ${tenant} has ${queued} rows queued; its quota is ${limit}. Retry once some have run`, { queued_rows: queued, quota_rows: limit }, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

/** Authenticated, but not allowed this (a reserved priority; /admin with a tenant key). */
export class ForbiddenError extends AppError {
  override readonly name = 'ForbiddenError';
  constructor(detail: string) {
    super('forbidden', detail);
  }
}

export class RedisUnavailableError extends AppError {
  override readonly name = 'RedisUnavailableError';
  /** `then`: what the client should do, when more than retrying later */
  constructor(cause?: unknown, reason: keyof typeof REDIS_TROUBLE = 'unreachable', then = 'retry later', extensions: Record<string, unknown> = {}) {
    super('redis-unavailable', `${REDIS_TROUBLE[reason]}; ${then}`, extensions, {
      cause,
      headers: { 'Retry-After': '1' },
    });
  }
}

export class InferenceError extends AppError {
  override readonly name = 'InferenceError';
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super('inference-failed', detail, extensions);
  }
}

export class WaitTimeoutError extends AppError {
  override readonly name = 'WaitTimeoutError';
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super('timeout', detail, extensions);
  }
}

/** Thrown by `loadConfig` with every problem found, so an operator fixes them all at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
