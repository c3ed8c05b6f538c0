import { describe, expect, it } from 'vitest';
import { LineRanges } from './line-ranges.js';

describe('LineRanges', () => {
  it('one row a line: a row is its line', () => {
    const l = LineRanges.of(5, 5)!;
    expect(l.oneRowEach).toBe(true);
    expect([l.lineOf(3), l.start(3), l.end(3)]).toEqual([3, 3, 4]);
    expect(l.touched(1, 4)).toEqual([1, 4]);
  });

  it('lines of several rows: finds the line of each row, and the lines a range touches in part', () => {
    // lines: 0 → rows 0-1, 1 → 2-7, 2 → 8, 3 → 9-10, 4 → 11-13
    const l = LineRanges.of(14, 5, [2, 6, 1, 2, 3])!;
    expect(l.oneRowEach).toBe(false);
    expect(Array.from({ length: 14 }, (_, r) => l.lineOf(r))).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 2, 3, 3, 4, 4, 4]);
    expect([l.start(1), l.end(1), l.start(4), l.end(4)]).toEqual([2, 8, 11, 14]);
    expect(l.touched(0, 4)).toEqual([0, 2]); // line 1 in part
    expect(l.touched(4, 8)).toEqual([1, 2]); // inside one line
    expect(l.touched(8, 12)).toEqual([2, 5]);
    expect(l.touched(13, 14)).toEqual([4, 5]);
  });

  it('one line of all the rows', () => {
    const l = LineRanges.of(7, 1, [7])!;
    expect(l.touched(3, 5)).toEqual([0, 1]);
    expect([l.start(0), l.end(0)]).toEqual([0, 7]);
  });

  it('says nothing of lines it cannot place: several rows a line without their counts, or counts that do not add up', () => {
    expect(LineRanges.of(5, 3)).toBeUndefined();
    expect(LineRanges.of(5, 2, [2, 2])).toBeUndefined();
    expect(LineRanges.of(5, 3, [2, 3])).toBeUndefined();
  });
});
