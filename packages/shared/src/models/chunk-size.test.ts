import { describe, expect, it } from 'vitest';
import { chunkRows, CHUNK_BYTES, MAX_CHUNK_ROWS, rowBytes } from './chunk-size.js';
import type { Datatype } from '../contract/datatypes.js';
import type { Dim } from '../contract/tensor.js';

const v = (shape: (number | string)[], maxBatchSize: number, datatype: Datatype = 'FP32', outShape: (number | string)[] = ['N', 2]) => ({
  inputs: [{ name: 'x', datatype, shape: shape as Dim[] }],
  outputs: [{ name: 'y', datatype: 'FP32' as const, shape: outShape as Dim[] }],
  maxBatchSize,
});

describe('chunkRows', () => {
  it('holds about a mebibyte of input, as a multiple of the run size', () => {
    expect(rowBytes(v(['N', 32], 64))).toBe(128);
    expect(chunkRows(v(['N', 32], 64))).toBe(8192);
    expect(chunkRows(v(['N', 32], 1024))).toBe(8192);
    expect(chunkRows(v(['N', 32], 1000))).toBe(8000);
  });

  it('is independent of max_batch_size until one run is larger than a chunk', () => {
    expect(chunkRows(v(['N', 224, 224, 3], 8))).toBe(8);
    expect(chunkRows(v(['N', 224, 224, 3], 1))).toBe(Math.floor(CHUNK_BYTES / (224 * 224 * 3 * 4)));
  });

  it('holds about a mebibyte of output where the outputs of a row are larger than its inputs', () => {
    // 16 bytes in, 3 KB out: 341 rows, rounded up to one run
    expect(rowBytes(v(['N', 4], 1024, 'FP32', ['N', 768]))).toBe(3072);
    expect(chunkRows(v(['N', 4], 1024, 'FP32', ['N', 768]))).toBe(1024);
    expect(chunkRows(v(['N', 4], 64, 'FP32', ['N', 768]))).toBe(320);
    // several outputs add up; symbolic dimensions count 1
    const two = { ...v(['N', 4], 16), outputs: [{ name: 'a', datatype: 'FP64' as const, shape: ['N', 256] as Dim[] }, { name: 'b', datatype: 'FP32' as const, shape: ['N', 'K', 256] as Dim[] }] };
    expect(rowBytes(two)).toBe(256 * 8 + 256 * 4);
  });

  it('is capped for tiny rows, and 1 for a model that cannot batch', () => {
    expect(chunkRows(v(['N', 1], 64, 'UINT8'))).toBe(MAX_CHUNK_ROWS);
    expect(chunkRows(v([4, 32], 0))).toBe(1);
  });
});
