import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, parseRetryAfter, retryDelayMs } from './retry.js';

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 12 ')).toBe(12);
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    for (const v of [null, undefined, '', '-1', '1.5', 'later', '12 s']) expect(parseRetryAfter(v)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const policy = { ...DEFAULT_RETRY, maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  it('honours Retry-After up to maxDelayMs, and gives up beyond it', () => {
    expect(retryDelayMs(policy, 0, 429, 1)).toBe(1000);
    expect(retryDelayMs(policy, 0, 503, 0)).toBe(0);
    expect(retryDelayMs(policy, 0, 429, 2)).toBeUndefined();
  });
  it('backs off exponentially with jitter without Retry-After', () => {
    expect(retryDelayMs(policy, 0, 503, undefined, () => 1)).toBe(100);
    expect(retryDelayMs(policy, 2, 503, undefined, () => 1)).toBe(400);
    expect(retryDelayMs(policy, 2, 503, undefined, () => 0)).toBe(200);
    expect(retryDelayMs({ ...policy, maxRetries: 10 }, 8, 503, undefined, () => 1)).toBe(1000);
  });
  it('retries only the listed statuses, a bounded number of times', () => {
    for (const status of [400, 401, 404, 409, 413, 500, 504]) expect(retryDelayMs(policy, 0, status, 0)).toBeUndefined();
    expect(retryDelayMs(policy, 3, 429, 0)).toBeUndefined();
    expect(retryDelayMs({ ...policy, maxRetries: 0 }, 0, 429, 0)).toBeUndefined();
  });
});
