import { describe, expect, it } from 'vitest';
import { failedAttemptThrottle, failureReason } from './attempt-failure.js';
import { noAnswer } from './post.js';

describe('failureReason', () => {
  it('classes an answer by its status, and no answer by why', () => {
    expect(failureReason({ status: 500 })).toBe('http_5xx');
    expect(failureReason({ status: 503 })).toBe('http_5xx');
    expect(failureReason({ status: 404 })).toBe('http_4xx');
    expect(failureReason({ status: 410 })).toBe('http_4xx');
    expect(failureReason({ status: 302 })).toBe('http_3xx');
    expect(failureReason({ status: 101 })).toBe('http_other');
    expect(failureReason({ status: null, failure: 'timeout' })).toBe('timeout');
    expect(failureReason({ status: null, failure: 'refused' })).toBe('refused');
    expect(failureReason({ status: null })).toBe('network');
  });

  it("reads why no answer came from the attempt's error", () => {
    expect(noAnswer(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timeout');
    expect(noAnswer(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe('timeout');
    expect(noAnswer(Object.assign(new Error('refused: private'), { name: 'TargetRefusedError' }))).toBe('refused');
    expect(noAnswer(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe('network');
    expect(noAnswer(undefined)).toBe('network');
  });
});

describe('failedAttemptThrottle', () => {
  it('passes one line per origin a minute, each origin apart, and counts the ones held back', () => {
    let now = 0;
    const t = failedAttemptThrottle(() => now);
    expect(t.pass('https://a')).toEqual({});
    expect(t.pass('https://b')).toEqual({});
    now = 59_999;
    expect(t.pass('https://a')).toBeUndefined();
    expect(t.pass('https://a')).toBeUndefined();
    now = 60_000;
    expect(t.pass('https://a')).toEqual({ repeats: 2 });
    expect(t.pass('https://b')).toEqual({});
    now = 120_000;
    expect(t.pass('https://a')).toEqual({});
  });
});
