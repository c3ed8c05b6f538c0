import { describe, expect, it } from 'vitest';
import { ModelConfigFile, VersionPolicy } from './config.js';

const paths = (v: unknown): string[] => {
  const r = ModelConfigFile.safeParse(v);
  if (r.success) throw new Error('expected a failure');
  return r.error.issues.map((i) => i.path.join('.'));
};

describe('ModelConfigFile', () => {
  it('accepts an empty config (every field optional)', () => {
    expect(ModelConfigFile.parse({})).toEqual({});
  });

  it('accepts a full config', () => {
    const full = {
      max_batch_size: 8,
      max_queue_delay_ms: 2.5,
      preferred_batch_sizes: [4, 8],
      execution_providers: ['cuda', 'cpu'],
      version_policy: { specific: [1, 3] },
      instances: 2,
    };
    expect(ModelConfigFile.parse(full)).toEqual(full);
  });

  it('rejects unknown keys (a typo must not be silently ignored)', () => {
    expect(paths({ max_batch: 8 })).toEqual(['']);
    const r = ModelConfigFile.safeParse({ max_batch_size: 8, maxQueueDelayMs: 1 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('maxQueueDelayMs');
  });

  it('rejects a preferred batch size past max_batch_size, as Triton does (audit N: [4, 16] with 8 loaded)', () => {
    expect(paths({ max_batch_size: 8, preferred_batch_sizes: [4, 16] })).toEqual(['preferred_batch_sizes']);
    expect(ModelConfigFile.safeParse({ max_batch_size: 8, preferred_batch_sizes: [4, 16, 32] }).error?.issues[0]?.message).toBe('16, 32 exceed max_batch_size 8');
    expect(ModelConfigFile.safeParse({ max_batch_size: 8, preferred_batch_sizes: [4, 8] }).success).toBe(true);
    expect(ModelConfigFile.safeParse({ preferred_batch_sizes: [4096] }).success).toBe(true); // max_batch_size unset: each version's own default
  });

  it('rejects preferred batch sizes for a model that cannot batch (max_batch_size 0: they were dropped without a word)', () => {
    expect(ModelConfigFile.safeParse({ max_batch_size: 0, preferred_batch_sizes: [4] }).error?.issues[0]?.message).toMatch(/^max_batch_size 0 runs each job alone: there is no batch size to prefer/);
    expect(ModelConfigFile.safeParse({ max_batch_size: 0, preferred_batch_sizes: [] }).success).toBe(true);
    expect(ModelConfigFile.safeParse({ max_batch_size: 0 }).success).toBe(true);
  });

  it('rejects negative sizes and delays', () => {
    expect(paths({ max_batch_size: -1 })).toEqual(['max_batch_size']);
    expect(paths({ max_queue_delay_ms: -1 })).toEqual(['max_queue_delay_ms']);
    expect(paths({ preferred_batch_sizes: [4, -2] })).toEqual(['preferred_batch_sizes.1']);
    expect(paths({ instances: -1 })).toEqual(['instances']);
  });

  it('rejects zero where at least one is needed', () => {
    expect(paths({ preferred_batch_sizes: [0] })).toEqual(['preferred_batch_sizes.0']);
    expect(paths({ instances: 0 })).toEqual(['instances']);
  });

  it('rejects non-integers and out-of-bound values', () => {
    expect(paths({ max_batch_size: 1.5 })).toEqual(['max_batch_size']);
    expect(paths({ max_batch_size: 1_000_001 })).toEqual(['max_batch_size']);
    expect(paths({ max_queue_delay_ms: 60_001 })).toEqual(['max_queue_delay_ms']);
    expect(paths({ instances: 65 })).toEqual(['instances']);
  });

  it('rejects wrong types and empty provider names', () => {
    expect(paths({ max_batch_size: '8' })).toEqual(['max_batch_size']);
    expect(paths({ execution_providers: [''] })).toEqual(['execution_providers.0']);
  });

  it('reports every bad field at once', () => {
    expect(paths({ max_batch_size: -1, instances: 0 }).sort()).toEqual(['instances', 'max_batch_size']);
  });
});

describe('VersionPolicy', () => {
  it('accepts the three Triton policies', () => {
    expect(VersionPolicy.parse({ latest: 2 })).toEqual({ latest: 2 });
    expect(VersionPolicy.parse({ all: true })).toEqual({ all: true });
    expect(VersionPolicy.parse({ specific: [1] })).toEqual({ specific: [1] });
  });

  it('rejects malformed policies', () => {
    for (const bad of [{ latest: 0 }, { latest: 1.5 }, { all: false }, { specific: [] }, { specific: [0] }, { latest: 1, all: true }, {}, { newest: 1 }]) {
      expect(VersionPolicy.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
