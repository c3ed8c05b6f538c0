import { describe, expect, it } from 'vitest';
import { failedRequests } from './requests.js';

const failed = (type: 'inference-failed' | 'expired' | 'canceled') => ({ state: 'failed' as const, error: { type, message: 'x' } });

describe('the requests a failed job counts as failed (Triton statistics)', () => {
  it('a lone request counts one', () => {
    expect(failedRequests({}, failed('inference-failed'))).toBe(1);
  });
  it('v2 requests packed into a job whose run failed count none: the API runs each again alone, and those count', () => {
    expect(failedRequests({ requests: 16 }, failed('inference-failed'))).toBe(0);
  });
  it('packed requests that failed for another reason (not run again) count each', () => {
    expect(failedRequests({ requests: 4 }, failed('expired'))).toBe(4);
  });
  it("a carrier's members fail with it, each a job of its own: all count", () => {
    expect(failedRequests({ requests: 3, members: [{}, {}, {}] as never }, failed('inference-failed'))).toBe(3);
  });
});
