/**
 * The ONE error handler: every error an express route meets becomes RFC 9457
 * `application/problem+json`. (Requests Node's HTTP parser refuses before express sees them, a
 * bad request line, no `Host`, an `Expect` it cannot meet, are answered by http/client-error.ts
 * with bodies of the same shape.)
 * AppError → its status; zod errors → 400 with each issue; body-parser errors → 400/413;
 * Redis unreachable, out of memory or read-only → 503 + Retry-After; anything else → a logged 500 that reveals no internals.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import type { AllowedMethods } from './allowed-methods.js';
import { drainBody, isDecompressionError } from './body-encoding.js';
import { bodyMayFollow } from './continue.js';
import {
  AppError, MalformedBodyError, MalformedJsonError, NotFoundError, PayloadTooLargeError, PROBLEMS, problemTypeUri,
  RedisUnavailableError, redisUnavailableReason, ValidationError, withoutValues, type Logger, type ProblemType,
} from '@maas/shared';

/** The `/v2` routes (letters in any case, as express routes them), whose problems also carry `error` (the OpenAPI document says so too). */
export const V2_PATH = /^\/v2(\/|\?|$)/i;

/**
 * On `/v2` routes a problem also carries `"error": detail`: the Open Inference Protocol's error
 * body, which KServe and Triton clients read (CONTRACT §4).
 */
export function sendProblem(res: Response, type: ProblemType, detail: string, extensions: Record<string, unknown> = {}, instance?: string): void {
  const { status, title } = PROBLEMS[type];
  const v2 = instance !== undefined && V2_PATH.test(instance);
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: problemTypeUri(type), title, status, detail, ...(instance ? { instance } : {}), ...extensions, ...(v2 ? { error: detail } : {}) }));
}

/** zod issues → our InputIssue list, with paths like `inputs[0].shape`. */
export function fromZod(err: ZodError, root = ''): ValidationError {
  return new ValidationError(
    err.issues.map((i) => ({
      path: i.path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${String(k)}` : String(k)), root),
      message: i.message,
    })),
  );
}

/**
 * A request body that is not JSON, `detail` saying why (the app-wide parser's error, or an
 * inference route's own reading). A parser stopped at `NaN` or `Infinity` (Python's json.dumps
 * writes them by default) gets told where such values go.
 */
export const notJson = (detail: string): MalformedJsonError =>
  new MalformedJsonError(`request body is not valid JSON: ${detail}${/Unexpected token '[NI]'|No number after minus sign/.test(detail) ? NON_FINITE_HINT : ''}`);

const NON_FINITE_HINT = ' (NaN and Infinity are not JSON: send such values with the binary tensor extension, parameters.binary_data_size, or in an .npy batch file)';

/**
 * A body that is JSON, but a bare `null`, number, string or boolean: the JSON parser (strict,
 * objects and arrays only) calls it invalid JSON, which it is not; it is a body of the wrong
 * kind, as `[]` is.
 */
function scalarBody(body: unknown): ValidationError | undefined {
  if (typeof body !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value === 'object' && value !== null) return undefined;
  return new ValidationError([{ path: 'body', message: `expected a JSON object, got ${value === null ? 'null' : typeof value}` }]);
}

/** Any error as the AppError it stands for, or undefined for an unexpected one (a logged 500). Used by gRPC too. */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return fromZod(err);
  const e = err as { type?: string; status?: number; message?: string; limit?: number; body?: unknown };
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError(`request body exceeds ${e.limit} bytes (MAX_BODY_MB)`);
  if (e?.type === 'entity.parse.failed') return scalarBody(e.body) ?? notJson(e.message ?? 'unparsable');
  // The client closed the connection mid-body: nobody reads this answer, and it is not our fault.
  // The same read as a stream (a batch upload): Node's `aborted`, whose ECONNRESET is the client's, not Redis's.
  if (e?.type === 'request.aborted' || (err instanceof Error && err.message === 'aborted' && (err as NodeJS.ErrnoException).code === 'ECONNRESET')) {
    return new MalformedBodyError('the client closed the connection before it sent the whole body');
  }
  // raw-body's: a body whose length differs from its Content-Length.
  if (e?.type === 'request.size.invalid') return new MalformedBodyError(e.message ?? 'the body is not as long as its Content-Length says');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError('unsupported-media-type', e.message ?? 'unsupported encoding');
  // The router's: a path segment that is not valid percent-encoding (`/v1/jobs/%zz`).
  if (err instanceof URIError) return new ValidationError([{ path: 'url', message: err.message }]);
  if (isDecompressionError(err)) return new MalformedBodyError(`the compressed body is corrupt or truncated: ${e.message}`, err);
  const redisTrouble = redisUnavailableReason(err);
  if (redisTrouble) return new RedisUnavailableError(err, redisTrouble);
  return undefined;
}

/**
 * How an expected 5xx answer is logged: one line, never a stack trace (they are answers, not
 * faults: a model not ready while its worker starts, a long-poll that timed out, a job whose
 * model failed on its input, Redis away). Only errors we did not expect are logged with stacks.
 */
const EXPECTED_5XX: Partial<Record<ProblemType, 'debug' | 'info' | 'warn'>> = {
  'model-not-ready': 'debug',
  'not-ready': 'debug',
  'shutting-down': 'info',
  timeout: 'info',
  'inference-failed': 'info',
  'redis-unavailable': 'warn',
};

/** Logs a 5xx answer, REST's or gRPC's: an expected one in one line at its level, any other with its stack. */
export function logServerProblem(log: Logger, app: AppError, err: unknown): void {
  if (app.status < 500) return;
  const level = EXPECTED_5XX[app.type];
  const cause = app.cause instanceof Error ? app.cause.message : undefined;
  // The job an answer was about (a failed or timed-out wait), as a field: the worker's and the webhooks' lines name it so too.
  const job = typeof app.extensions['job_id'] === 'string' ? { job_id: app.extensions['job_id'] } : {};
  // A failed run's message may quote the tenant's input values: masked in the log (shared log-values.ts).
  const detail = app.type === 'inference-failed' ? withoutValues(app.detail) : app.detail;
  if (level) log[level]({ problem: app.type, status: app.status, ...job, ...(cause ? { cause } : {}) }, detail);
  else log.warn({ err }, app.detail);
}

/** Headers that describe an answer's content, which a problem sent instead does not have. */
const REPRESENTATION_HEADERS = ['Content-Range', 'Content-Length', 'ETag', 'Last-Modified', 'Accept-Ranges'];

/** Told of every typed error as it is answered, with its request (metrics.ts counts refusals by it). */
export type ProblemAnswered = (app: AppError, req: Request) => void;

export const problemHandler: ErrorRequestHandler = answeringProblems();

/** The error handler; `answered` is told of each typed error it answers (none: a 500 it did not expect). */
export function answeringProblems(answered?: ProblemAnswered): ErrorRequestHandler {
  return (err, req, res, _next) => handleProblem(err, req, res, answered);
}

function handleProblem(err: unknown, req: Request, res: Response, answered: ProblemAnswered | undefined): void {
  // A response already under way (a results download whose batch went mid-stream) cannot
  // become a problem: the connection is cut, so the client sees a body cut short, not a whole one.
  if (res.headersSent) {
    req.log?.warn({ err }, 'response cut short by an error after it began');
    res.destroy();
    return;
  }
  // An answer before the body was read whole (a 404 for a path nothing serves, a 413
  // mid-upload): the connection cannot carry another request, so say so and a client does not
  // reuse it. A body on its way is drained first (DRAIN_MS at most): closed with it unread, the
  // connection would be reset under a client still sending, which then never reads the answer.
  if (!req.complete) {
    res.setHeader('Connection', 'close');
    if (bodyMayFollow(req, res)) {
      void drainBody(req)
        .then(() => {
          // Answered meanwhile (a second error of the same request drains no longer): once only.
          if (!res.headersSent && !res.writableEnded) answerError(err, req, res, answered);
        })
        .catch((e: unknown) => req.log?.error({ err: e }, 'answering a problem after draining its body failed'));
      return;
    }
  }
  answerError(err, req, res, answered);
}

function answerError(err: unknown, req: Request, res: Response, answered: ProblemAnswered | undefined): void {
  const app = toAppError(err);
  if (!app) {
    req.log?.error({ err }, 'unhandled error');
    sendProblem(res, 'internal', 'An internal error occurred; it has been logged.', {}, req.originalUrl);
    return;
  }
  if (req.log) logServerProblem(req.log, app, err);
  answered?.(app, req);
  // What a route set for the answer it meant to send (a part's Content-Range, its ETag) is not
  // the problem's: the problem's own headers (a 416's Content-Range) are set after.
  for (const h of REPRESENTATION_HEADERS) res.removeHeader(h);
  for (const [k, v] of Object.entries(app.headers)) res.setHeader(k, v);
  sendProblem(res, app.type, app.detail, app.extensions, req.originalUrl);
}

/** No route took the request: a 405 naming the methods when its path is served with others (`allowed`), else a 404. */
export const notFoundHandler = (allowed: AllowedMethods): RequestHandler => (req, _res, next) => {
  next(unservedError(req.method, req.path, allowed(req.path)));
};

/**
 * The same answer before anything reads the request (its key, its body): a path no route serves
 * is a 404 and a method its path is not served with a 405, not a complaint about a body or a key
 * that no route would have read.
 */
export const refuseUnserved = (allowed: AllowedMethods): RequestHandler => (req, _res, next) => {
  const methods = allowed(req.path);
  if (methods?.includes(req.method)) return next();
  next(unservedError(req.method, req.path, methods));
};

function unservedError(method: string, path: string, methods: readonly string[] | undefined): AppError {
  return methods ? methodNotAllowed(method, path, methods) : new NotFoundError('route', `${method} ${path}`);
}

/** The 405 of `method` on `path`, with `Allow` naming `methods` (`why`: a reason to add, e.g. the queue board's read-only). */
export function methodNotAllowed(method: string, path: string, methods: readonly string[], why = ''): AppError {
  const allow = methods.join(', ');
  return new AppError('method-not-allowed', `${method} is not served on ${path}${why} (allowed: ${allow})`, {}, { headers: { Allow: allow } });
}
