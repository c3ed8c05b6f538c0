import { describe, expect, it } from 'vitest';
import { ValidationError } from '@maas/shared';
import { clampWaitMs, preferWait, queryWait } from './wait.js';

describe('preferWait', () => {
  it('reads wait=N among other preferences (RFC 7240)', () => {
    expect(preferWait('wait=5')).toBe(5);
    expect(preferWait('respond-async, wait=10')).toBe(10);
    expect(preferWait('WAIT = 2.5')).toBe(2.5);
    expect(preferWait('return=minimal')).toBeUndefined();
    expect(preferWait(undefined)).toBeUndefined();
    expect(preferWait('wait=abc')).toBeUndefined();
  });

  it('reads a bare wait (as Replicate clients send it) as the longest wait, clamped by the caller', () => {
    expect(preferWait('wait')).toBe(Infinity);
    expect(preferWait('respond-async, Wait')).toBe(Infinity);
    expect(preferWait('wait; foo=bar')).toBe(Infinity);
    expect(clampWaitMs(preferWait('wait'), 55)).toBe(55_000);
    expect(preferWait('waiting')).toBeUndefined();
  });
});

describe('queryWait', () => {
  it('accepts non-negative numbers and rejects the rest with a 400', () => {
    expect(queryWait(undefined)).toBeUndefined();
    expect(queryWait('30')).toBe(30);
    expect(queryWait('0.5')).toBe(0.5);
    expect(() => queryWait('-1')).toThrow(ValidationError);
    expect(() => queryWait('soon')).toThrow(ValidationError);
    expect(() => queryWait(['1', '2'])).toThrow(ValidationError);
  });

  it('reads a number as a client\'s number type prints it (String(1e-7) is "1e-7"); one past a double\'s range is as long as any past the limit', () => {
    expect(queryWait('1e-7')).toBe(1e-7);
    expect(queryWait('2E1')).toBe(20);
    expect(clampWaitMs(queryWait('1e999'), 60)).toBe(60_000);
    expect(clampWaitMs(queryWait('99999999999999999999'), 60)).toBe(60_000);
    expect(() => queryWait('e5')).toThrow(ValidationError);
  });
});

describe('clampWaitMs', () => {
  it('clamps to the configured maximum and converts to ms', () => {
    expect(clampWaitMs(5, 60)).toBe(5000);
    expect(clampWaitMs(600, 60)).toBe(60_000);
    expect(clampWaitMs(undefined, 60)).toBe(0);
  });
});
