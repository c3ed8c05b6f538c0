/**
 * PURE: when to retry a refused request, and after how long.
 *
 * Only 429 (rate limited / queue full) and 503 (Redis unavailable) are retried: the API sends
 * them with a `Retry-After`, and both pass on their own. Other errors would fail the same way
 * again. What may have done work before such an answer (a proxy's 503 after it forwarded the
 * request; a v2 infer whose wait met a Redis outage) is safe to send again: jobs and batches go
 * with an Idempotency-Key, and a v2 infer run twice costs its compute (and its rows of a
 * quota) twice and changes nothing else. The policy is bounded on purpose: a few retries, and
 * never a wait longer than `maxDelayMs` — if the server asks for more, the error goes to the
 * caller, who knows better whether to wait that long.
 */

export interface RetryOptions {
  /** retries after the first attempt (0 disables retrying); default 2 */
  maxRetries?: number;
  /** backoff base when the answer has no Retry-After: base·2^attempt, with jitter; default 500 */
  baseDelayMs?: number;
  /** the longest single wait; a longer Retry-After is not waited for; default 10 000 */
  maxDelayMs?: number;
  /** statuses retried; default [429, 503] */
  statuses?: number[];
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  statuses: [429, 503],
};

/**
 * `Retry-After` → seconds from now (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * Milliseconds to wait before retry number `attempt + 1`, or undefined to give up.
 * `random` is injectable so tests are deterministic.
 */
export function retryDelayMs(
  policy: Required<RetryOptions>,
  attempt: number,
  status: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxRetries || !policy.statuses.includes(status)) return undefined;
  if (retryAfterSeconds !== undefined) {
    const ms = retryAfterSeconds * 1000;
    return ms > policy.maxDelayMs ? undefined : ms;
  }
  // Jitter keeps many clients refused at the same moment from coming back at the same moment.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
