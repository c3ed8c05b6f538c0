import { describe, expect, it } from 'vitest';
import { defaultMaxBatchSize, DEFAULT_RUN_BYTES, MAX_DEFAULT_MAX_BATCH_SIZE } from './default-batch-size.js';
import { MIN_DEFAULT_MAX_BATCH_SIZE } from './config.js';
import type { Datatype } from '../contract/datatypes.js';
import type { Dim } from '../contract/tensor.js';

const v = (shape: (number | string)[], datatype: Datatype = 'FP32', outShape: (number | string)[] = ['N', 2]) => ({
  inputs: [{ name: 'x', datatype, shape: shape as Dim[] }],
  outputs: [{ name: 'y', datatype: 'FP32' as const, shape: outShape as Dim[] }],
});

describe('defaultMaxBatchSize', () => {
  it('gives a model of small rows the most rows a run (the shipped MLP: 128-byte rows)', () => {
    expect(defaultMaxBatchSize(v(['N', 32]))).toBe(MAX_DEFAULT_MAX_BATCH_SIZE);
    expect(defaultMaxBatchSize(v(['N', 4], 'INT64'))).toBe(MAX_DEFAULT_MAX_BATCH_SIZE);
  });

  it('fills DEFAULT_RUN_BYTES of input, rounded down to a power of two', () => {
    expect(defaultMaxBatchSize(v(['N', 256]))).toBe(DEFAULT_RUN_BYTES / 1024); // 1 KB rows: 256
    expect(defaultMaxBatchSize(v(['N', 300]))).toBe(128); // 1,200-byte rows fit 218
  });

  it('counts the outputs where a row has more of them than of inputs', () => {
    expect(defaultMaxBatchSize(v(['N', 4], 'FP32', ['N', 768]))).toBe(64); // 3 KB of output a row
    expect(defaultMaxBatchSize(v(['N', 4], 'FP32', ['N', 256]))).toBe(256);
  });

  it('never gives large rows fewer than MIN_DEFAULT_MAX_BATCH_SIZE', () => {
    expect(defaultMaxBatchSize(v(['N', 224, 224, 3]))).toBe(MIN_DEFAULT_MAX_BATCH_SIZE);
    expect(defaultMaxBatchSize(v(['N', 1024]))).toBe(MIN_DEFAULT_MAX_BATCH_SIZE); // 4 KB rows: exactly 64
  });
});
