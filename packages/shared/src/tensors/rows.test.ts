import { describe, expect, it } from 'vitest';
import { tensorOf } from './encode.js';
import { toJsonValues, type RawTensor } from './raw.js';
import { concatRows, sliceOutputRows, sliceRows } from './rows.js';

const tensor = tensorOf;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const values = (t: RawTensor) => toJsonValues(t);

describe('sliceRows', () => {
  const t = tensor('x', 'FP32', [4, 2], range(8));

  it('takes rows [start, end) of a numeric tensor', () => {
    const s = sliceRows(t, 1, 3);
    expect(s.shape).toEqual([2, 2]);
    expect(values(s)).toEqual([2, 3, 4, 5]);
    expect(s.name).toBe('x');
    expect(s.datatype).toBe('FP32');
  });

  it('returns the tensor itself for the full range', () => {
    expect(sliceRows(t, 0, 4)).toBe(t);
  });

  it('an empty range has no rows', () => {
    const s = sliceRows(t, 2, 2);
    expect(s.shape).toEqual([0, 2]);
    expect(values(s)).toEqual([]);
  });

  it('slices BYTES by elements per row', () => {
    const s = sliceRows(tensor('s', 'BYTES', [3, 2], ['a', 'b', 'c', 'd', 'e', 'f']), 2, 3);
    expect(s).toEqual({ name: 's', datatype: 'BYTES', shape: [1, 2], data: ['e', 'f'] });
  });

  it('slices rank-1 and rank-3 tensors', () => {
    expect(values(sliceRows(tensor('l', 'INT64', [4], [10, 11, 12, 13]), 1, 3))).toEqual([11, 12]);
    const r3 = sliceRows(tensor('c', 'INT8', [3, 2, 2], range(12)), 1, 2);
    expect(r3.shape).toEqual([1, 2, 2]);
    expect(values(r3)).toEqual([4, 5, 6, 7]);
  });

  it('does not modify the source', () => {
    sliceRows(t, 1, 2);
    expect(t.shape).toEqual([4, 2]);
    expect(values(t)).toEqual(range(8));
  });
});

describe('concatRows', () => {
  it('joins numeric tensors along the first dimension', () => {
    const j = concatRows([tensor('x', 'FP32', [1, 2], [1, 2]), tensor('x', 'FP32', [2, 2], [3, 4, 5, 6])]);
    expect(j.shape).toEqual([3, 2]);
    expect(values(j)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('joins BYTES tensors', () => {
    const j = concatRows([tensor('s', 'BYTES', [1], ['a']), tensor('s', 'BYTES', [2], ['b', 'c'])]);
    expect(j).toEqual({ name: 's', datatype: 'BYTES', shape: [3], data: ['a', 'b', 'c'] });
  });

  it('joins subarrays that share a buffer correctly', () => {
    const whole = tensor('x', 'INT32', [4], [1, 2, 3, 4]);
    const j = concatRows([sliceRows(whole, 2, 4), sliceRows(whole, 0, 1)]);
    expect(values(j)).toEqual([3, 4, 1]);
  });

  it('returns a single part as is', () => {
    const t = tensor('x', 'FP32', [1], [1]);
    expect(concatRows([t])).toBe(t);
  });

  it('throws with no parts', () => {
    expect(() => concatRows([])).toThrow('concatRows: no parts');
  });
});

describe('sliceOutputRows', () => {
  const o = { name: 'y', datatype: 'FP32' as const, shape: [3, 2], data: [1, 2, 3, 4, 5, 6] };

  it('takes rows [start, end) of flat JSON data', () => {
    expect(sliceOutputRows(o, 1, 3)).toEqual({ name: 'y', datatype: 'FP32', shape: [2, 2], data: [3, 4, 5, 6] });
  });

  it('returns the whole tensor as is', () => {
    expect(sliceOutputRows(o, 0, 3)).toBe(o);
  });

  it('slices a one-dimensional output by element', () => {
    expect(sliceOutputRows({ name: 'l', datatype: 'BYTES', shape: [3], data: ['a', 'b', 'c'] }, 2, 3).data).toEqual(['c']);
  });
});
