import { describe, expect, it } from 'vitest';
import { batchFields, msToNs, STAT, toModelStatistics } from './stats.js';

describe('toModelStatistics', () => {
  it('is all zeros for a version that never ran', () => {
    const s = toModelStatistics('m', 1, {});
    expect(s).toMatchObject({ name: 'm', version: '1', inference_count: 0, execution_count: 0, batch_stats: [] });
    expect(s.inference_stats.success).toEqual({ count: 0, ns: 0 });
  });
  it('reads counters and batch sizes in order', () => {
    const hash = {
      [STAT.successCount]: '3', [STAT.successNs]: String(msToNs(4.5)), [STAT.inferenceCount]: '12', [STAT.executionCount]: '2',
      [batchFields(8).count]: '1', [batchFields(8).ns]: '100', [batchFields(4).count]: '1', [batchFields(4).ns]: '50',
    };
    const s = toModelStatistics('m', 2, hash);
    expect(s.inference_stats.success).toEqual({ count: 3, ns: 4_500_000 });
    expect(s.inference_count / s.execution_count).toBe(6);
    expect(s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_infer.ns])).toEqual([[4, 1, 50], [8, 1, 100]]);
  });
});
