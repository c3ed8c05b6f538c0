import { describe, expect, it } from 'vitest';
import { flattenData } from './flatten.js';

const ok = (r: ReturnType<typeof flattenData>): unknown[] => {
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r.values;
};
const fail = (r: ReturnType<typeof flattenData>): string => {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r.values)}`);
  return r.message;
};

describe('flattenData', () => {
  describe('flat data', () => {
    it('returns flat data of the right length as is, row-major', () => {
      expect(ok(flattenData([1, 2, 3, 4, 5, 6], [2, 3]))).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('accepts any element type (values are checked later by encodeValues)', () => {
      expect(ok(flattenData(['a', true, null, 1.5], [4]))).toEqual(['a', true, null, 1.5]);
    });

    it('rejects too few elements, naming both counts and the shape', () => {
      expect(fail(flattenData([1, 2, 3], [2, 2]))).toBe('data has 3 elements but shape [2, 2] needs 4');
    });

    it('rejects too many elements', () => {
      expect(fail(flattenData([1, 2, 3, 4, 5], [2, 2]))).toMatch(/5 elements .* needs 4/);
    });

    it('rejects an array hidden after a scalar first element, with its index', () => {
      expect(fail(flattenData([1, [2], 3, 4], [4]))).toBe('data[1] is an array but data[0] is not');
      expect(fail(flattenData([1, 2, 3, [4]], [4]))).toMatch(/^data\[3\]/);
    });
  });

  describe('nested data', () => {
    it('flattens data nested to exactly the shape depth', () => {
      expect(ok(flattenData([[1, 2, 3], [4, 5, 6]], [2, 3]))).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('flattens three levels in row-major order', () => {
      const data = [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]];
      expect(ok(flattenData(data, [3, 2, 2]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });

    it('rejects a row of the wrong length, naming the row', () => {
      expect(fail(flattenData([[1, 2, 3], [4, 5]], [2, 3]))).toBe('data[1] has 2 elements, shape says 3');
    });

    it('rejects the wrong number of rows', () => {
      expect(fail(flattenData([[1, 2], [3, 4], [5, 6]], [2, 2]))).toBe('data has 3 elements, shape says 2');
    });

    it('rejects a scalar where a nested row is expected (mismatched nesting)', () => {
      expect(fail(flattenData([[1, 2], 3], [2, 2]))).toBe('data[1] should be an array of 2 elements');
    });

    it('rejects data nested deeper than the shape', () => {
      expect(fail(flattenData([[1, [2]], [3, 4]], [2, 2]))).toBe('data[0][1] nests deeper than shape [2, 2]');
      expect(fail(flattenData([[[1]]], [1, 1]))).toMatch(/nests deeper/);
    });

    it('rejects data nested shallower than the shape (one level for a rank-3 shape)', () => {
      // [2, 2, 2] nested only one level: each row has 4 scalars where 2 arrays are expected
      expect(fail(flattenData([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 2, 2]))).toBe('data[0] has 4 elements, shape says 2');
      expect(fail(flattenData([[1, 2], [3, 4]], [2, 2, 1]))).toBe('data[0][0] should be an array of 1 elements');
    });

    it('reports the first offending path deep inside', () => {
      const data = [[[1, 2], [3, 4]], [[5, 6], [7]]];
      expect(fail(flattenData(data, [2, 2, 2]))).toBe('data[1][1] has 1 elements, shape says 2');
    });
  });

  describe('rank 0 and empty shapes', () => {
    it('rank 0 ([]) holds exactly one scalar', () => {
      expect(ok(flattenData([7], []))).toEqual([7]);
      expect(fail(flattenData([], []))).toBe('data has 0 elements but shape [] needs 1');
      expect(fail(flattenData([1, 2], []))).toMatch(/needs 1/);
    });

    it('rank 0 rejects a nested scalar', () => {
      expect(fail(flattenData([[7]], []))).toMatch(/nests deeper than shape \[\]/);
    });

    it('a zero dimension needs no data', () => {
      expect(ok(flattenData([], [0, 3]))).toEqual([]);
      expect(ok(flattenData([], [2, 0]))).toEqual([]);
    });

    it('a zero inner dimension accepts empty nested rows', () => {
      expect(ok(flattenData([[], []], [2, 0]))).toEqual([]);
      expect(fail(flattenData([[], [], []], [2, 0]))).toMatch(/3 elements, shape says 2/);
    });

    it('a zero batch dimension rejects any data', () => {
      expect(fail(flattenData([1], [0, 1]))).toMatch(/1 elements but shape \[0, 1\] needs 0/);
      expect(fail(flattenData([[]], [0, 3]))).toMatch(/data has 1 elements, shape says 0/);
    });
  });
});
