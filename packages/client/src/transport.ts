/**
 * The one place that talks HTTP: URL building, auth, timeouts, retries and error mapping.
 * Resources (jobs, batches, …) describe requests; this turns them into `fetch` calls and turns
 * every failure into the SDK's error classes, so no resource has to think about them.
 */
import { MaasApiError, MaasConnectionError, MaasProtocolError, MaasTimeoutError, type TimedOut } from './errors.js';
import { apiErrorFrom } from './problem.js';
import { DEFAULT_RETRY, retryDelayMs, type RetryOptions } from './retry.js';
import { sleep } from './time.js';
import { uploadStream } from './upload.js';
import { parseJson, stringifyJson } from './json.js';
import { chunksOf } from './ndjson.js';
import { parseBaseUrl, requestUrl, type BaseUrl } from './base-url.js';

export interface TransportOptions {
  /**
   * e.g. `http://127.0.0.1:8080`; a path prefix (behind a proxy) and query parameters are kept
   * for every request; `http://user:KEY@host` sends KEY by Basic auth (when no `apiKey` is given)
   */
  baseUrl: string;
  /** sent as `Authorization: Bearer <key>` */
  apiKey?: string | undefined;
  /** a fetch implementation (tests, instrumentation); default the global one */
  fetch?: typeof fetch | undefined;
  /**
   * How long a request may go unanswered; default 120 000 ms, 0 = no limit. Long-polls get
   * their wait on top; uploads and downloads are only limited by `signal`.
   */
  timeoutMs?: number | undefined;
  /**
   * Retries of 429/503 answers, honouring `Retry-After`. Default: 2 retries, no single wait
   * over 10 s (a longer Retry-After is returned to you as the error). `false` disables them.
   */
  retry?: RetryOptions | false | undefined;
  /** extra headers on every request */
  headers?: Record<string, string> | undefined;
}

/** Per-call options every SDK method accepts. */
export interface CallOptions {
  /** cancels the call (and any waiting it does) */
  signal?: AbortSignal | undefined;
  /** overrides the client's request timeout for this call; 0 = none (a long-poll gets its wait on top) */
  timeoutMs?: number | undefined;
}

export interface RequestSpec extends CallOptions {
  method: 'GET' | 'POST';
  /** path below the base URL, segments already encoded */
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  /** a JSON body */
  json?: unknown;
  /** a streamed body, made fresh for each attempt */
  stream?: (() => ReadableStream<Uint8Array>) | undefined;
  /** the stream factory can make the body again (a file, not a one-shot iterator): retries allowed */
  replayable?: boolean | undefined;
  contentType?: string | undefined;
  headers?: Record<string, string | undefined> | undefined;
  /** non-2xx statuses that are answers rather than errors (503 from a readiness probe) */
  acceptStatuses?: number[] | undefined;
  /** what a 2xx JSON body must be (`shape`): else a MaasProtocolError, not a TypeError later */
  expect?: Shape | undefined;
  /**
   * The Idempotency-Key was made for this call: a 409 `idempotency-conflict` can then only be
   * its own earlier attempt, refused (a 503) while Redis was away, still held by the API until
   * it gives it back (within a second of Redis answering): retried as a 503 is, waiting at most
   * OWN_KEY_WAIT_S, where it would otherwise be thrown. A lost connection is retried as a 503
   * too: the key makes the second attempt answer what the first made.
   */
  ownKey?: boolean | undefined;
  /** whether the streamed body's own source failed (a bad line, a read error): the caller's error, never retried */
  sourceFailed?: (() => boolean) | undefined;
}

/** The longest wait before retrying a conflict with this call's own Idempotency-Key (`ownKey`). */
const OWN_KEY_WAIT_S = 2;

/** A JSON answer's shape, checked where the contract fixes it: a name for the message, and the check. */
export interface Shape {
  what: string;
  is: (body: unknown) => boolean;
}

const isRecord = (b: unknown): b is Record<string, unknown> => typeof b === 'object' && b !== null && !Array.isArray(b);

/** A contract object: `{"object": kind, "id": …}` (a job, a batch), or a list of them. */
export const objectOf = (kind: string): Shape => ({ what: `a ${kind} object`, is: (b) => isRecord(b) && b['object'] === kind && (kind === 'list' || typeof b['id'] === 'string') });

/** An object with an array member `key` (a model list, an infer answer's outputs). */
export const withArray = (what: string, key: string): Shape => ({ what, is: (b) => isRecord(b) && Array.isArray(b[key]) });

/** Long enough for a synchronous v2 infer, which the server holds up to INFER_TIMEOUT_S, 55 s by default. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Answer time on top of a long-poll, so the request timeout never cuts a poll short. */
const POLL_GRACE_MS = 15_000;

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
]);

/** An Idempotency-Key of the SDK's own (`maas-client-…`) or the CLI's (`maas-cli-…`), for a POST it may send again. */
export const newIdempotencyKey = (by: 'client' | 'cli' = 'client'): string => `maas-${by}-${randomUuid()}`;

/**
 * A random (v4) UUID: `crypto.randomUUID` where there is one; a browser has it only in a secure
 * context (HTTPS, localhost), so a page on `http://intranet-host` makes one from
 * `crypto.getRandomValues`, which every context has.
 */
export function randomUuid(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Marks our own timeout apart from the caller aborting. */
class TimeoutSignal extends Error {}

export class Transport {
  /** the base URL without credentials, query or trailing slash */
  readonly baseUrl: string;
  private readonly base: BaseUrl;
  private readonly fetchImpl: typeof fetch;
  /** the caller gave their own fetch: use it for everything, uploads included */
  private readonly customFetch: boolean;
  private readonly timeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly headers: Record<string, string>;

  constructor(opts: TransportOptions) {
    this.base = parseBaseUrl(opts.baseUrl);
    this.baseUrl = this.base.root;
    // Called as a function of its own: a browser's fetch called as a method of another object throws "Illegal invocation".
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.customFetch = opts.fetch !== undefined;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = opts.retry === false ? { ...DEFAULT_RETRY, maxRetries: 0 } : { ...DEFAULT_RETRY, ...opts.retry };
    this.headers = {
      accept: 'application/json, application/problem+json',
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : this.base.basicAuth ? { authorization: this.base.basicAuth } : {}),
      ...opts.headers,
    };
  }

  get retriesEnabled(): boolean {
    return this.retry.maxRetries > 0;
  }

  /**
   * The request timeout for a call the server may hold open `waitSeconds` (a long-poll): the
   * call's own timeout (`callTimeoutMs`, else the client's), never shorter than the wait it
   * asks for plus a grace; 0 stays no limit.
   */
  pollTimeoutMs(waitSeconds: number | undefined, callTimeoutMs?: number): number {
    const timeoutMs = callTimeoutMs ?? this.timeoutMs;
    if (timeoutMs === 0 || waitSeconds === undefined) return timeoutMs;
    return Math.max(timeoutMs, waitSeconds * 1000 + POLL_GRACE_MS);
  }

  url(path: string, query?: RequestSpec['query']): string {
    return requestUrl(this.base, path, query);
  }

  /** A JSON answer. The timeout covers reading the body too. */
  async json<T>(spec: RequestSpec): Promise<{ body: T; response: Response }> {
    return this.send(spec, async (response) => {
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? parseJson(text) : undefined;
      } catch (err) {
        throw new MaasProtocolError(`${spec.method} ${spec.path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: err });
      }
      // Is this the maas API at all (a proxy's page, another service on the port)? Said now, not as a TypeError later.
      if (spec.expect && response.ok && !spec.expect.is(body)) {
        throw new MaasProtocolError(`${spec.method} ${spec.path} answered ${response.status} with JSON that is not ${spec.expect.what}: ${text.slice(0, 200)}`);
      }
      return { body: body as T, response };
    });
  }

  /**
   * An answer whose body the caller streams. The timeout covers only the wait for the
   * headers: a large download may take as long as it takes (cancel it with `signal`).
   */
  async stream(spec: RequestSpec): Promise<Response> {
    return this.send(spec, async (response) => response);
  }

  /**
   * `stream`'s answer, and its body chunk by chunk: a connection lost while it is read (the
   * server closed it mid-answer: a crash, a proxy's cut) fails as MaasConnectionError, as it
   * would before the headers; the caller's abort as its reason. Leaving the loop early closes
   * the download.
   */
  async chunks(spec: RequestSpec): Promise<{ response: Response; chunks: AsyncGenerator<Uint8Array, void, undefined> }> {
    const response = await this.stream(spec);
    if (!response.body) throw new MaasProtocolError(`${spec.method} ${spec.path} answered without a body`);
    const url = this.url(spec.path, spec.query);
    const body = response.body;
    const lost = (err: unknown) => this.networkError(err, url, undefined, 0, spec.signal);
    const chunks = (async function* () {
      try {
        yield* chunksOf(body);
      } catch (err) {
        throw lost(err);
      }
    })();
    return { response, chunks };
  }

  private async send<T>(spec: RequestSpec, read: (r: Response) => Promise<T>): Promise<T> {
    // A streamed body that cannot be made again (an iterator already consumed) is sent once.
    const retryable = !spec.stream || spec.replayable === true;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(spec, spec.stream?.(), read);
      } catch (err) {
        let delay = err instanceof MaasApiError && retryable ? retryDelayMs(this.retry, attempt, err.status, err.retryAfter) : undefined;
        if (delay === undefined && spec.ownKey && retryable && err instanceof MaasApiError && err.status === 409 && err.type.endsWith(':idempotency-conflict')) {
          delay = retryDelayMs(this.retry, attempt, 503, Math.min(err.retryAfter ?? OWN_KEY_WAIT_S, OWN_KEY_WAIT_S));
        }
        // The connection lost (an answer a proxy dropped, an API that died): with the key made
        // for this call, sending again is safe, and answers what the first attempt made if it
        // was made (an upload whose 202 was lost ran anyway, and a second command made another).
        if (delay === undefined && spec.ownKey && retryable && err instanceof MaasConnectionError && !(err instanceof MaasTimeoutError) && !spec.signal?.aborted && !spec.sourceFailed?.()) {
          delay = retryDelayMs(this.retry, attempt, 503, undefined);
        }
        if (delay === undefined) throw err;
        await sleep(delay, spec.signal);
      }
    }
  }

  private async once<T>(spec: RequestSpec, stream: ReadableStream<Uint8Array> | undefined, read: (r: Response) => Promise<T>): Promise<T> {
    const url = this.url(spec.path, spec.query);
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    const timer = new AbortController();
    const handle = timeoutMs > 0 ? setTimeout(() => timer.abort(new TimeoutSignal()), timeoutMs) : undefined;
    const signal = spec.signal ? AbortSignal.any([spec.signal, timer.signal]) : timer.signal;
    const headers: Record<string, string> = { ...this.headers };
    for (const [k, v] of Object.entries(spec.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    const init: RequestInit = { method: spec.method, headers, signal };
    if (spec.json !== undefined) {
      init.body = stringifyJson(spec.json);
      headers['content-type'] = spec.contentType ?? 'application/json';
    } else if (stream) {
      init.body = stream;
      // Required by fetch for a stream body: the request is sent while it is still being produced.
      init.duplex = 'half';
      headers['content-type'] = spec.contentType ?? 'application/octet-stream';
    }
    try {
      let response: Response;
      try {
        response =
          stream && !this.customFetch
            ? await uploadStream(url, { method: spec.method, headers, body: stream, signal })
            : await this.fetchImpl(url, init);
      } catch (err) {
        throw this.networkError(err, url, timer.signal, timeoutMs, spec.signal, 'answer');
      }
      if (!response.ok && !spec.acceptStatuses?.includes(response.status)) {
        const text = await response.text().catch(() => '');
        throw apiErrorFrom({ status: response.status, statusText: response.statusText, headers: response.headers, body: text });
      }
      try {
        return await read(response);
      } catch (err) {
        throw this.networkError(err, url, timer.signal, timeoutMs, spec.signal, 'body');
      }
    } finally {
      clearTimeout(handle);
    }
  }

  /**
   * `timer`: the signal of our own timeout, when one applies (none while a body streams);
   * `awaited`: what the timeout would have cut short, the answer's headers or its body.
   */
  private networkError(err: unknown, url: string, timer: AbortSignal | undefined, timeoutMs: number, caller?: AbortSignal, awaited: TimedOut = 'answer'): unknown {
    if (caller?.aborted) return caller.reason ?? err;
    if (timer?.aborted && timer.reason instanceof TimeoutSignal) return new MaasTimeoutError(url, timeoutMs, awaited);
    // node:http (uploads) fails with the system error itself.
    const direct = err as { code?: unknown; syscall?: unknown; message?: string };
    if (typeof direct?.code === 'string' && (NETWORK_CODES.has(direct.code) || direct.syscall === 'connect' || direct.syscall === 'getaddrinfo')) {
      return new MaasConnectionError(url, direct.code, direct.code, { cause: err });
    }
    // fetch fails with a TypeError whose cause says why. Anything else (a protocol error of
    // ours while reading, a failing upload source) passes through unchanged.
    if (!(err instanceof TypeError)) return err;
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const why = code ?? (typeof cause?.message === 'string' ? cause.message : err.message);
    return new MaasConnectionError(url, why, code, { cause: err });
  }
}
