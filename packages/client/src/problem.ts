/**
 * PURE: an error answer (status, headers, body text) → `MaasApiError`.
 *
 * The API always answers errors as RFC 9457 `application/problem+json`. Whatever sits in
 * front of it (a proxy's 502 page, a load balancer's 504) may not, so anything else still
 * becomes a `MaasApiError`, of type `about:blank` (RFC 9457 §4.2) with the start of the body as
 * its detail: callers handle one error class for "the server said no".
 */
import { MaasApiError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import type { Problem, ProblemIssue } from './types.js';

/** How much of a non-problem body to keep as the detail. */
const MAX_DETAIL_CHARS = 500;

export interface ErrorAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  body: string;
}

export function apiErrorFrom(answer: ErrorAnswer, nowMs = Date.now()): MaasApiError {
  const retryAfter = parseRetryAfter(answer.headers.get('retry-after'), nowMs);
  return new MaasApiError(problemFrom(answer), retryAfter);
}

function problemFrom({ status, statusText, headers, body }: ErrorAnswer): Problem {
  const contentType = headers.get('content-type') ?? '';
  if (/^application\/(problem\+)?json\b/i.test(contentType)) {
    const parsed = parseObject(body);
    // A plain JSON error body counts when it has the problem fields we print.
    if (parsed && (contentType.toLowerCase().includes('problem') || typeof parsed['title'] === 'string' || typeof parsed['detail'] === 'string')) {
      return {
        ...parsed,
        type: typeof parsed['type'] === 'string' ? parsed['type'] : 'about:blank',
        title: typeof parsed['title'] === 'string' ? parsed['title'] : statusText || `HTTP ${status}`,
        // The status line is authoritative (RFC 9457 §3.1.2: the member is advisory).
        status,
        ...(typeof parsed['detail'] === 'string' ? { detail: parsed['detail'] } : {}),
        ...(issues(parsed['errors']) ? { errors: issues(parsed['errors'])! } : {}),
      };
    }
  }
  const text = body.trim();
  return {
    type: 'about:blank',
    title: statusText || `HTTP ${status}`,
    status,
    ...(text ? { detail: text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text } : {}),
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `errors` when it is the list of `{path, message}` the API documents; otherwise left out. */
function issues(value: unknown): ProblemIssue[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((i): i is Record<string, unknown> => !!i && typeof i === 'object')
    .map((i) => ({ path: typeof i['path'] === 'string' ? i['path'] : '', message: typeof i['message'] === 'string' ? i['message'] : JSON.stringify(i) }));
}
