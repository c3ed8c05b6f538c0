/**
 * What a failed webhook attempt is, in words an operator can count and grep: the reason's kind
 * (the `reason` label of maas_webhook_attempts_total, a fixed set), the receiver's origin (never
 * its path or query, which may carry a token), and one warn line per tenant and origin a minute, however
 * many events a receiver that answers 500 for days fails.
 */
import { LogThrottle } from '@maas/shared';
import type { PostOutcome } from './post.js';

/** Why an attempt failed: an answer's class, or no answer (out of time, target refused by the address policy, any other connection error). */
export type FailureReason = 'http_3xx' | 'http_4xx' | 'http_5xx' | 'http_other' | 'timeout' | 'refused' | 'network';

/** PURE: the reason of a failed attempt's outcome. */
export function failureReason(o: Pick<PostOutcome, 'status' | 'failure'>): FailureReason {
  if (o.status === null) return o.failure ?? 'network';
  if (o.status >= 300 && o.status < 400) return 'http_3xx';
  if (o.status >= 400 && o.status < 500) return 'http_4xx';
  if (o.status >= 500 && o.status < 600) return 'http_5xx';
  return 'http_other';
}

/** One failed-attempt line per tenant and receiver origin per minute; that many pairs remembered at most. */
export const FAILED_ATTEMPT_LOG_MS = 60_000;
const ORIGINS_REMEMBERED = 1024;

export const failedAttemptThrottle = (now?: () => number): LogThrottle => new LogThrottle(FAILED_ATTEMPT_LOG_MS, ORIGINS_REMEMBERED, now);
