/**
 * Everything the SDK throws, as a small class tree so callers branch with `instanceof`:
 *
 *   MaasError
 *   ├─ MaasApiError          the API answered with an error (problem+json, RFC 9457)
 *   ├─ MaasConnectionError   no answer at all (refused, DNS, reset)
 *   │  └─ MaasTimeoutError   no answer, or no whole body, within the request timeout
 *   ├─ MaasWaitTimeoutError  a job/batch did not finish within the time we were asked to wait
 *   ├─ MaasJobFailedError    `jobs.run` saw its job end failed or canceled
 *   └─ MaasProtocolError     a 2xx whose body is not what the contract promises
 *   WebhookVerificationError (not a MaasError: it is about a request *to* you, not from us)
 */
import type { Job, JobStatus, Problem, ProblemIssue } from './types.js';

export class MaasError extends Error {
  override readonly name: string = 'MaasError';
}

export class MaasApiError extends MaasError {
  override readonly name = 'MaasApiError';
  readonly status: number;
  /** problem type URI, e.g. `urn:maas:problem:invalid-input` (`about:blank` for non-problem answers) */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** per-input issues of a 400 */
  readonly errors: ProblemIssue[] | undefined;
  /** seconds, from the `Retry-After` header (429, 503) */
  readonly retryAfter: number | undefined;
  /** the problem document as received, extensions included */
  readonly problem: Problem;

  constructor(problem: Problem, retryAfter?: number) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail ?? '';
    this.errors = problem.errors;
    this.retryAfter = retryAfter;
  }

  /**
   * The slug after the service's URN prefix (`invalid-input`), handy for `switch`; any other
   * type whole (`about:blank`: an answer that is no problem of the service's, e.g. a proxy's 502).
   */
  get code(): string {
    return this.type.startsWith(PROBLEM_URN) ? this.type.slice(PROBLEM_URN.length) : this.type;
  }
}

/** What the service's problem types begin with (`urn:maas:problem:invalid-input`). */
const PROBLEM_URN = 'urn:maas:problem:';

export class MaasConnectionError extends MaasError {
  override readonly name: string = 'MaasConnectionError';
  constructor(
    /** the URL that could not be reached */
    readonly url: string,
    /** why, in a few words (`ECONNREFUSED`, `bad port`, …) */
    readonly reason: string,
    /** the system error code when there is one (`ECONNREFUSED`, `ENOTFOUND`, …) */
    readonly code: string | undefined,
    /** `reached`: the server answered before this went wrong (else told by `code`) */
    options?: { cause?: unknown; reached?: boolean },
  ) {
    const lost = options?.reached ?? (code !== undefined && LOST.has(code));
    super(`${lost ? 'lost the connection to' : 'cannot reach'} ${url}: ${reason}`, options);
    this.lost = lost;
  }

  /** the server was reached, then closed or reset the connection (else it could not be reached at all) */
  readonly lost: boolean;
}

/** Codes of a connection the server accepted, then closed or reset: it was reached. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** What a request's timeout cut short: the answer (its status and headers never came) or its body (it came, then stalled). */
export type TimedOut = 'answer' | 'body';

export class MaasTimeoutError extends MaasConnectionError {
  override readonly name = 'MaasTimeoutError';
  constructor(url: string, readonly timeoutMs: number, readonly awaited: TimedOut = 'answer') {
    super(url, awaited === 'answer' ? `no answer within ${timeoutMs} ms` : `its answer's body did not finish within ${timeoutMs} ms`, 'ETIMEDOUT', { reached: awaited === 'body' });
    this.message = awaited === 'answer' ? `no answer from ${url} within ${timeoutMs} ms` : `${url} answered, then its body did not finish within ${timeoutMs} ms`;
  }
}

export class MaasWaitTimeoutError<T = unknown> extends MaasError {
  override readonly name = 'MaasWaitTimeoutError';
  constructor(
    message: string,
    /** the object as last seen: still queued or running */
    readonly last: T,
  ) {
    super(message);
  }
}

export class MaasJobFailedError extends MaasError {
  override readonly name = 'MaasJobFailedError';
  readonly status: JobStatus;
  constructor(readonly job: Job) {
    super(`job ${job.id} ${job.status}${job.error ? `: ${job.error.type}: ${job.error.message}` : ''}`);
    this.status = job.status;
  }
}

export class MaasProtocolError extends MaasError {
  override readonly name = 'MaasProtocolError';
}

export type WebhookVerificationReason =
  | 'invalid-secret'
  | 'missing-header'
  | 'invalid-timestamp'
  | 'timestamp-too-old'
  | 'timestamp-too-new'
  | 'no-matching-signature'
  | 'invalid-body';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
  }
}

/** The system error code of a connection that failed (MaasConnectionError), or undefined for any other error. */
export const connectionCode = (err: unknown): string | undefined => (err instanceof MaasConnectionError ? err.code ?? err.reason : undefined);

/**
 * Whether this runtime's fetch says why a connection failed: Node's and Bun's give a system
 * error code (ECONNREFUSED, …); a browser's says only "Failed to fetch", Deno's a message.
 */
const FETCH_GIVES_CODES = typeof process !== 'undefined' && typeof process.versions?.node === 'string' && !('Deno' in globalThis);

/**
 * A connection that failed for a reason the runtime does not tell (a browser's, Deno's): what
 * an API restarting gives there, so a wait's GETs and a download's resume try again as they do
 * on ECONNREFUSED in Node. Never a timeout of the SDK's own.
 */
export const failedUntold = (err: unknown): boolean =>
  !FETCH_GIVES_CODES && err instanceof MaasConnectionError && !(err instanceof MaasTimeoutError) && err.code === undefined;
