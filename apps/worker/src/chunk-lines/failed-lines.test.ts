import { describe, expect, it } from 'vitest';
import { LineRanges } from './line-ranges.js';
import { lineRanges, rowsIn, sameError } from './failed-lines.js';

describe('failed lines of a chunk', () => {
  it('gives the rows of each failed line (keyed by its first row), and how many rows they hold', () => {
    const lines = LineRanges.of(10, 4, [1, 3, 2, 4])!; // lines 0..3 on rows [0,1) [1,4) [4,6) [6,10)
    const ranges = lineRanges(lines, new Map([[1, 'x'], [6, 'y']]));
    expect(ranges).toEqual([[1, 4], [6, 10]]);
    expect(rowsIn(ranges)).toBe(7);
  });

  it('tells one error shared by every line (the chunk failed) from lines that failed each their own way', () => {
    const e = (message: string) => ({ type: 'inference-failed' as const, message });
    expect(sameError(new Map([[0, e('a')], [3, e('a')]]))).toBe(true);
    expect(sameError(new Map([[0, e('a')], [3, e('b')]]))).toBe(false);
  });
});
