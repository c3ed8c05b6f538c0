/** PURE: how long a request asked to wait (`Prefer: wait=N` RFC 7240, or `?wait=N`), clamped. */
import { ValidationError } from '@maas/shared';

/**
 * Seconds from `Prefer: wait=N` (other preferences ignored), or undefined. A bare `wait`, as
 * Replicate's clients send it, is the longest wait: Infinity, which the caller clamps to
 * MAX_WAIT_S (before, it was ignored, and a client ported from Replicate read `outputs: null`).
 */
export function preferWait(header: string | undefined): number | undefined {
  if (!header) return undefined;
  for (const pref of header.split(',')) {
    const m = /^\s*wait\s*(?:=\s*"?(\d+(?:\.\d+)?)"?\s*)?(?:;.*)?$/i.exec(pref);
    if (m) return m[1] === undefined ? Infinity : Number(m[1]);
  }
  return undefined;
}

/**
 * What `?wait=N` may be: a non-negative number, as a client's number type prints one (`5`,
 * `0.5`, `1e-7`: the OpenAPI document types it a number, and its schema uses this pattern).
 */
export const WAIT_SECONDS = /^\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Seconds from `?wait=N` (`WAIT_SECONDS`), else a 400. A number past a double's range (`1e999`)
 * is a long wait like any other past the limit, clamped as `99999999999999999999` is.
 */
export function queryWait(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && WAIT_SECONDS.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) throw new ValidationError([{ path: 'wait', message: 'wait must be a number of seconds' }]);
  return n;
}

/** Milliseconds to wait, at most `maxSeconds`. */
export const clampWaitMs = (seconds: number | undefined, maxSeconds: number): number =>
  Math.round(Math.min(seconds ?? 0, maxSeconds) * 1000);
