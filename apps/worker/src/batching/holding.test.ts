import { describe, expect, it } from 'vitest';
import type { ModelVersion } from '@maas/shared';
import { defaultConcurrency, rowBudget } from './holding.js';

/** The shipped mlp's signature (128-byte rows), with `maxBatchSize` rows a run. */
const mlp = (maxBatchSize: number) =>
  ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 32] }], outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }], maxBatchSize }) as unknown as ModelVersion;

describe('defaultConcurrency', () => {
  it('holds enough jobs to fill two runs an instance, between 4 and 1,024', () => {
    expect(defaultConcurrency(mlp(64), 1)).toBe(128);
    expect(defaultConcurrency(mlp(64), 2)).toBe(256);
    expect(defaultConcurrency(mlp(1024), 1)).toBe(1024);
    expect(defaultConcurrency(mlp(0), 1)).toBe(4); // a model that cannot batch: a few jobs ahead
  });
});

describe('rowBudget', () => {
  it('is four full runs an instance, or two batch-file chunks when those are more', () => {
    expect(rowBudget(mlp(64), 1)).toBe(2 * 8192); // two chunks of 1 MiB of 128-byte rows
    expect(rowBudget(mlp(8192), 1)).toBe(4 * 8192);
  });
});
