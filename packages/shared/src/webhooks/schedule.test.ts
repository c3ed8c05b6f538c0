import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_MS, parseDuration, parseRetryAfter, parseSchedule, retryDelay, STANDARD_RETRY_SCHEDULE_MS, totalAttempts,
} from './schedule.js';

describe('schedule', () => {
  it('defaults to the Standard Webhooks schedule: immediately, then 5 s … 24 h (10 attempts)', () => {
    const h = 3_600_000;
    expect(STANDARD_RETRY_SCHEDULE_MS).toEqual([5000, 300_000, 1_800_000, 2 * h, 5 * h, 10 * h, 14 * h, 20 * h, 24 * h]);
    expect(totalAttempts(STANDARD_RETRY_SCHEDULE_MS)).toBe(10);
  });

  it('parses durations and lists', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseSchedule(' 1s, 1s ,2s ')).toEqual([1000, 1000, 2000]);
    expect(parseSchedule('')).toEqual([]);
    expect(() => parseSchedule(',')).toThrow(/names no delay/);
    expect(() => parseSchedule(' , ,')).toThrow(/names no delay/);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
    expect(() => parseDuration('-1s')).toThrow();
    expect(() => parseSchedule(Array(101).fill('1s').join(','))).toThrow(/at most 100/);
  });

  it('gives the delay after the n-th failure with ±10 % jitter, then null (exhausted)', () => {
    const s = [1000, 60_000];
    expect(retryDelay(s, 1, { random: () => 0.5 })).toBe(1000);
    expect(retryDelay(s, 1, { random: () => 0 })).toBe(900);
    expect(retryDelay(s, 1, { random: () => 0.9999999 })).toBe(1100);
    expect(retryDelay(s, 2, { random: () => 0.5 })).toBe(60_000);
    expect(retryDelay(s, 3)).toBeNull();
    expect(retryDelay(s, 0)).toBeNull();
    expect(retryDelay([], 1)).toBeNull();
    expect(retryDelay(s, 1, { jitter: 0 })).toBe(1000);
  });

  it('never retries earlier than Retry-After asked', () => {
    const s = [1000, 60_000];
    expect(retryDelay(s, 1, { retryAfterMs: 2000, random: () => 0.99 })).toBe(2000);
    expect(retryDelay(s, 2, { retryAfterMs: 2000, random: () => 0.5 })).toBe(60_000);
    expect(retryDelay(s, 3, { retryAfterMs: 2000 })).toBeNull();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read and caps what is absurd', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('99999999', now)).toBe(MAX_RETRY_AFTER_MS);
  });
});
