/**
 * PURE: when a failed webhook delivery is tried again.
 *
 * The default is the Standard Webhooks schedule: the first attempt at once, then retries 5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each failure (10 attempts over
 * about three days). Each delay gets ±10 % jitter, so receivers coming back from an outage are
 * not hit by every pending delivery in the same second. A receiver answering 429 or 503 with
 * `Retry-After` is never retried earlier than it asked.
 */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The Standard Webhooks retry delays (after the immediate first attempt). */
export const STANDARD_RETRY_SCHEDULE_MS: readonly number[] = ['5s', '5m', '30m', '2h', '5h', '10h', '14h', '20h', '24h'].map(
  (d) => parseDuration(d),
);

export const DEFAULT_JITTER = 0.1;
/** A `Retry-After` beyond this is treated as this (one day, the schedule's longest step). */
export const MAX_RETRY_AFTER_MS = UNITS['d']!;
/** Retries allowed in a schedule (more would be a typo, and BullMQ's attempt budget is finite). */
export const MAX_RETRIES = 100;

/** `500ms`, `5s`, `5m`, `2h`, `1d` (a bare number is seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration like 500ms, 5s, 5m, 2h or 1d`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

/** `5s,5m,30m` → [5000, 300000, 1800000]. (A blank `WEBHOOK_RETRY_SCHEDULE` is unset: the default schedule.) */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  // Commas alone: set, yet naming no delay (it was read as no retry at all).
  if (parts.length === 0 && text.trim() !== '') throw new Error('names no delay: list delays (1s,1s,2s), or leave it unset for the default schedule');
  if (parts.length > MAX_RETRIES) throw new Error(`at most ${MAX_RETRIES} retries`);
  return parts.map(parseDuration);
}

/**
 * `Retry-After` (delay-seconds or an HTTP date) → milliseconds from `nowMs`; undefined when
 * absent or unreadable. Capped at MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^[0-9]+$/.test(v)) ms = Number(v) * 1000;
  else {
    // HTTP-dates start with a day name; Date.parse alone would read "-5" as a year.
    const at = /^[A-Za-z]{3},? /.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

export interface RetryOptions {
  /** what the receiver asked for (429/503 `Retry-After`), in ms */
  retryAfterMs?: number | undefined;
  jitter?: number;
  /** [0, 1); injectable for tests */
  random?: () => number;
}

/**
 * Delay before the next attempt after `failedAttempts` attempts have failed (1 = the first
 * attempt failed), or null when the schedule is used up and the delivery is exhausted.
 */
export function retryDelay(schedule: readonly number[], failedAttempts: number, opts: RetryOptions = {}): number | null {
  const base = schedule[failedAttempts - 1];
  if (failedAttempts < 1 || base === undefined) return null;
  const jitter = opts.jitter ?? DEFAULT_JITTER;
  const jittered = Math.round(base * (1 + jitter * (2 * (opts.random ?? Math.random)() - 1)));
  return Math.max(jittered, opts.retryAfterMs ?? 0);
}

/** Attempts in all: the immediate one plus one per scheduled retry. */
export const totalAttempts = (schedule: readonly number[]): number => schedule.length + 1;
