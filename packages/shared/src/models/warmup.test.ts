import { describe, expect, it } from 'vitest';
import { warmupBytes, warmupRuns, WARMUP_DEFAULT_MAX_BYTES, WARMUP_MAX_BYTES } from './warmup.js';

const mlp = { maxBatchSize: 1024, inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [-1, 32] }] };

describe('warmupRuns', () => {
  it('by default: one row, then a full run', () => {
    expect(warmupRuns(mlp, undefined)).toEqual([
      { rows: 1, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32] }] },
      { rows: 1024, inputs: [{ name: 'input', datatype: 'FP32', shape: [1024, 32] }] },
    ]);
  });
  it('leaves the full run out by default when its inputs pass 16 MB (an image model)', () => {
    const image = { maxBatchSize: 64, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 3, 224, 224] }] };
    const runs = warmupRuns(image, undefined);
    expect(runs.map((r) => r.rows)).toEqual([1]);
    expect(warmupBytes({ rows: 64, inputs: [{ name: 'x', datatype: 'FP32', shape: [64, 3, 224, 224] }] })).toBeGreaterThan(WARMUP_DEFAULT_MAX_BYTES);
    // asked for, it runs
    expect(warmupRuns(image, [64]).map((r) => r.rows)).toEqual([64]);
  });
  it('takes open dimensions past the batch as 1, every input of the model', () => {
    const bert = { maxBatchSize: 8, inputs: [{ name: 'ids', datatype: 'INT64' as const, shape: [-1, -1] }, { name: 'mask', datatype: 'INT64' as const, shape: [-1, -1] }] };
    expect(warmupRuns(bert, [4])).toEqual([{ rows: 4, inputs: [{ name: 'ids', datatype: 'INT64', shape: [4, 1] }, { name: 'mask', datatype: 'INT64', shape: [4, 1] }] }]);
  });
  it('config sizes: at most as many rows as make 256 MB of zeros', () => {
    const image = { maxBatchSize: 100_000, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 3, 224, 224] }] };
    const [run] = warmupRuns(image, [1_000_000]);
    expect(run!.rows).toBe(Math.floor(WARMUP_MAX_BYTES / (3 * 224 * 224 * 4)));
    expect(warmupBytes(run!)).toBeLessThanOrEqual(WARMUP_MAX_BYTES);
  });
  it('config sizes: at most max_batch_size each, in order, no repeats; [] turns it off', () => {
    expect(warmupRuns(mlp, [8, 4096, 1024, 8]).map((r) => r.rows)).toEqual([8, 1024]);
    expect(warmupRuns(mlp, [])).toEqual([]);
  });
  it('a model that cannot batch: one run of its own shape', () => {
    const fixed = { maxBatchSize: 0, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [2, 3] }, { name: 's', datatype: 'BYTES' as const, shape: [-1] }] };
    expect(warmupRuns(fixed, undefined)).toEqual([{ rows: 1, inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }, { name: 's', datatype: 'BYTES', shape: [1] }] }]);
    expect(warmupRuns(fixed, [16])).toHaveLength(1);
    expect(warmupRuns(fixed, [])).toEqual([]);
  });
  it('counts BYTES inputs as no bytes (empty strings)', () => {
    expect(warmupBytes({ rows: 2, inputs: [{ name: 's', datatype: 'BYTES', shape: [2] }, { name: 'x', datatype: 'INT16', shape: [2, 3] }] })).toBe(12);
  });
});
