import { describe, expect, it } from 'vitest';
import { serverTimeouts } from './timeouts.js';

describe('serverTimeouts', () => {
  it('gives uploads an hour, stalled connections two minutes, headers 30 s', () => {
    expect(serverTimeouts({ REQUEST_TIMEOUT_S: 3600, IDLE_TIMEOUT_S: 120 })).toEqual({
      headersTimeout: 30_000, requestTimeout: 3_600_000, timeout: 120_000, keepAliveTimeout: 5000,
    });
  });

  it('never sets a headers timeout above the request timeout (node refuses it)', () => {
    expect(serverTimeouts({ REQUEST_TIMEOUT_S: 10, IDLE_TIMEOUT_S: 3 }).headersTimeout).toBe(10_000);
  });
});
