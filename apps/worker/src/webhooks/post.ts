/**
 * One webhook attempt: POST the signed bytes to the receiver and report what happened.
 *
 * The target is resolved and checked by the SSRF policy first, and the socket goes to that
 * checked address (the URL's host only travels in `Host` and TLS SNI/certificate checks), so a
 * DNS answer that changes after the check cannot redirect the request. Redirects are not
 * followed. Everything — DNS, connect, request, the answer — fits in one timeout. Of the
 * response only the status, `Retry-After` and a short excerpt of the body are kept: once the
 * status line has come, it is the outcome (a 2xx is a success), and the body is read only up
 * to the excerpt within the time left, then the connection is dropped.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { bareHost, parseRetryAfter, resolveTarget, type Lookup, type ResolvedTarget, type TargetPolicy } from '@maas/shared';

export const EXCERPT_CHARS = 256;
const USER_AGENT = 'maas-webhooks/0.1';

export interface PostOptions {
  timeoutMs: number;
  policy: TargetPolicy;
  lookup?: Lookup;
}

export interface PostOutcome {
  /** HTTP status, or null when no answer came */
  status: number | null;
  durationMs: number;
  error?: string;
  /** no answer: why (attempt-failure.ts counts and logs it) */
  failure?: NoAnswer;
  excerpt?: string;
  /** from `Retry-After` on 429/503 */
  retryAfterMs?: number;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  excerpt: string;
}

/** Rejects when `signal` aborts (for steps that take no signal, such as DNS). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Reads up to EXCERPT_CHARS of the body, then lets the rest go. The status line has arrived,
 * so it is the answer: when `signal` aborts (the attempt's time is up) before the excerpt is
 * complete or the body has ended, the answer is that status with the excerpt read so far.
 */
function readAnswer(res: IncomingMessage, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve) => {
    let excerpt = '';
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], excerpt });
      res.destroy();
    };
    if (signal.aborted) return done();
    signal.addEventListener('abort', done, { once: true });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      excerpt += chunk.slice(0, EXCERPT_CHARS - excerpt.length);
      if (excerpt.length >= EXCERPT_CHARS) done();
    });
    res.on('end', done);
    res.on('error', done);
    res.on('close', done);
  });
}

function send(url: URL, target: ResolvedTarget, body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  const host = bareHost(url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.address,
        family: target.family,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        // SNI and certificate checks use the name; an IP literal needs neither (RFC 6066).
        ...(isIP(host) ? {} : { servername: host }),
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': USER_AGENT,
          ...headers,
        },
        signal,
      },
      (res) => {
        // Answered: the timeout's abort (or a reset) while the body trickles in ends the
        // reading, not the attempt, which keeps the status already received.
        req.off('error', reject);
        req.on('error', () => {});
        void readAnswer(res, signal).then(resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Why no answer came: out of time, the address policy refused the target, or any other DNS or connection error. */
export type NoAnswer = 'timeout' | 'refused' | 'network';

/** PURE: the kind of an attempt's error. */
export function noAnswer(err: unknown): NoAnswer {
  const name = (err as Error | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  return name === 'TargetRefusedError' ? 'refused' : 'network';
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return (e?.message || String(err)).slice(0, 200);
}

/** POSTs `body` with `headers` to `url`; never throws (failures are outcomes). */
export async function postWebhook(url: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<PostOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const u = new URL(url);
    const target = await abortable(resolveTarget(u, opts.policy, opts.lookup), signal);
    const answer = await send(u, target, Buffer.from(body, 'utf8'), headers, signal);
    const retryAfterMs = answer.status === 429 || answer.status === 503 ? parseRetryAfter(answer.retryAfter) : undefined;
    return {
      status: answer.status,
      durationMs: ms(),
      ...(answer.excerpt ? { excerpt: answer.excerpt } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  } catch (err) {
    return { status: null, durationMs: ms(), error: describe(err, opts.timeoutMs), failure: noAnswer(err) };
  }
}
