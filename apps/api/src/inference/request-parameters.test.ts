import { describe, expect, it } from 'vitest';
import { MAX_PRIORITY, MAX_TIMEOUT_MS, ValidationError } from '@maas/shared';
import { inferOptions } from './request-parameters.js';

describe('inferOptions (Triton request parameters)', () => {
  it('reads priority and timeout, the timeout in µs rounded up to whole ms', () => {
    expect(inferOptions({ priority: 2, timeout: 1500 })).toEqual({ priority: 2, timeoutMs: 2 });
    expect(inferOptions({ timeout: 1 })).toEqual({ timeoutMs: 1 });
    expect(inferOptions({ timeout: 3_000_000 })).toEqual({ timeoutMs: 3000 });
    expect(inferOptions({ priority: MAX_PRIORITY, timeout: MAX_TIMEOUT_MS * 1000 })).toEqual({ priority: MAX_PRIORITY, timeoutMs: MAX_TIMEOUT_MS });
  });

  it('0, null or none is the default: no priority, no timeout; other parameters are left alone', () => {
    expect(inferOptions(undefined)).toEqual({});
    expect(inferOptions({ priority: 0, timeout: 0 })).toEqual({});
    expect(inferOptions({ priority: null, binary_data_output: true, sequence_id: 7 })).toEqual({});
  });

  it('refuses what is not a whole number in range, naming each', () => {
    for (const bad of [-1, 1.5, '3', true, MAX_PRIORITY + 1]) {
      expect(() => inferOptions({ priority: bad }), String(bad)).toThrow(ValidationError);
    }
    try {
      inferOptions({ priority: 'high', timeout: -5 });
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['parameters.priority', 'parameters.timeout']);
    }
    expect(() => inferOptions({ timeout: MAX_TIMEOUT_MS * 1000 + 1 })).toThrow(/from 0 to/);
  });
});
