import { describe, expect, it } from 'vitest';
import { serverTimeouts } from './timeouts.js';

describe('serverTimeouts', () => {
  it('gives uploads an hour, stalled connections two minutes, headers 30 s, idle keep-alive connections 65 s (beyond a proxy\'s 60)', () => {
    expect(serverTimeouts({ REQUEST_TIMEOUT_S: 3600, IDLE_TIMEOUT_S: 120, KEEP_ALIVE_TIMEOUT_S: 65 })).toEqual({
      headersTimeout: 30_000, requestTimeout: 3_600_000, timeout: 120_000, keepAliveTimeout: 65_000,
    });
    expect(serverTimeouts({ REQUEST_TIMEOUT_S: 3600, IDLE_TIMEOUT_S: 3, KEEP_ALIVE_TIMEOUT_S: 65 }).keepAliveTimeout).toBe(3000); // the idle timeout closes it first
  });

  it('never sets a headers timeout above the request timeout (node refuses it)', () => {
    expect(serverTimeouts({ REQUEST_TIMEOUT_S: 10, IDLE_TIMEOUT_S: 3, KEEP_ALIVE_TIMEOUT_S: 65 }).headersTimeout).toBe(10_000);
  });
});
