import { describe, expect, it } from 'vitest';
import { runCap, compatibleRows, cutRun, type PendingJob } from './cut.js';

const job = (name: string, rows: number, shapeKey = 'k', taken = 0): PendingJob<string> => ({ job: name, rows, taken, shapeKey, arrivedAt: 0 });

describe('runCap', () => {
  it('is maxRows when more rows are available', () => {
    expect(runCap(100, 8, [])).toBe(8);
  });

  it('is everything available when it is less than maxRows', () => {
    expect(runCap(5, 8, [])).toBe(5);
  });

  it('picks the largest preferred size that the available rows fill', () => {
    expect(runCap(13, 64, [4, 8, 16])).toBe(8);
    expect(runCap(16, 64, [4, 8, 16])).toBe(16);
    expect(runCap(100, 64, [16, 4, 8])).toBe(16);
  });

  it('ignores preferred sizes above maxRows', () => {
    expect(runCap(100, 10, [4, 32])).toBe(4);
    expect(runCap(100, 10, [32])).toBe(10);
  });

  it('falls back to everything available when no preferred size is filled', () => {
    expect(runCap(3, 64, [4, 8])).toBe(3);
  });

  it('is 0 when nothing is available', () => {
    expect(runCap(0, 8, [1])).toBe(0);
  });
});

describe('compatibleRows', () => {
  it('counts untaken rows of the head job\'s shape group', () => {
    expect(compatibleRows([job('a', 3, 'k', 1), job('b', 4, 'other'), job('c', 2)])).toBe(4);
  });

  it('is 0 with nothing pending', () => {
    expect(compatibleRows([])).toBe(0);
  });
});

describe('cutRun', () => {
  it('takes whole jobs in FIFO order with running offsets', () => {
    const pending = [job('a', 2), job('b', 3), job('c', 1)];
    expect(cutRun(pending, 10)).toEqual([
      { job: 'a', start: 0, end: 2, offset: 0 },
      { job: 'b', start: 0, end: 3, offset: 2 },
      { job: 'c', start: 0, end: 1, offset: 5 },
    ]);
    expect(pending).toEqual([]);
  });

  it('stops at the cap and leaves the rest in order', () => {
    const pending = [job('a', 2), job('b', 2), job('c', 2)];
    expect(cutRun(pending, 4).map((s) => s.job)).toEqual(['a', 'b']);
    expect(pending.map((p) => p.job)).toEqual(['c']);
  });

  it('splits a job that does not fit: its first rows now, the rest at the head', () => {
    const pending = [job('a', 3), job('b', 5), job('c', 1)];
    expect(cutRun(pending, 4)).toEqual([
      { job: 'a', start: 0, end: 3, offset: 0 },
      { job: 'b', start: 0, end: 1, offset: 3 },
    ]);
    expect(pending.map((p) => [p.job, p.taken])).toEqual([['b', 1], ['c', 0]]);
    expect(cutRun(pending, 4)).toEqual([
      { job: 'b', start: 1, end: 5, offset: 0 },
    ]);
    expect(cutRun(pending, 4)).toEqual([{ job: 'c', start: 0, end: 1, offset: 0 }]);
    expect(pending).toEqual([]);
  });

  it('spreads a job bigger than the cap over several calls with correct ranges', () => {
    const pending = [job('big', 10), job('next', 2)];
    const cuts = [cutRun(pending, 4), cutRun(pending, 4), cutRun(pending, 4)];
    expect(cuts).toEqual([
      [{ job: 'big', start: 0, end: 4, offset: 0 }],
      [{ job: 'big', start: 4, end: 8, offset: 0 }],
      [{ job: 'big', start: 8, end: 10, offset: 0 }, { job: 'next', start: 0, end: 2, offset: 2 }],
    ]);
    expect(pending).toEqual([]);
    // the ranges of 'big' tile [0, 10) exactly
    const ranges = cuts.flat().filter((s) => s.job === 'big').map((s) => [s.start, s.end]);
    expect(ranges).toEqual([[0, 4], [4, 8], [8, 10]]);
  });

  it('cap 0 takes the head job whole, alone, whatever its size', () => {
    const pending = [job('a', 50), job('b', 1)];
    expect(cutRun(pending, 0)).toEqual([{ job: 'a', start: 0, end: 50, offset: 0 }]);
    expect(pending.map((p) => p.job)).toEqual(['b']);
  });

  it('cap 0 on a partly taken head serves its remaining rows', () => {
    const pending = [job('a', 5, 'k', 2)];
    expect(cutRun(pending, 0)).toEqual([{ job: 'a', start: 2, end: 5, offset: 0 }]);
  });

  it('returns nothing when nothing is pending', () => {
    expect(cutRun([], 4)).toEqual([]);
    expect(cutRun([], 0)).toEqual([]);
  });

  it('takes only the head job\'s shape group; other jobs keep their place', () => {
    const pending = [job('a', 1, 'x'), job('b', 1, 'y'), job('c', 1, 'x'), job('d', 1, 'y'), job('e', 1, 'x')];
    expect(cutRun(pending, 10).map((s) => s.job)).toEqual(['a', 'c', 'e']);
    expect(pending.map((p) => p.job)).toEqual(['b', 'd']);
    expect(cutRun(pending, 10)).toEqual([
      { job: 'b', start: 0, end: 1, offset: 0 },
      { job: 'd', start: 0, end: 1, offset: 1 },
    ]);
  });

  it('an incompatible job in between is skipped without being taken from', () => {
    const pending = [job('a', 2, 'x'), job('b', 3, 'y'), job('c', 4, 'x')];
    expect(cutRun(pending, 4)).toEqual([
      { job: 'a', start: 0, end: 2, offset: 0 },
      { job: 'c', start: 0, end: 2, offset: 2 },
    ]);
    expect(pending.map((p) => [p.job, p.taken])).toEqual([['b', 0], ['c', 2]]);
  });

  it('offsets are contiguous and never exceed the cap', () => {
    const pending = Array.from({ length: 20 }, (_, i) => job(`j${i}`, (i % 5) + 1));
    while (pending.length) {
      const slices = cutRun(pending, 7);
      let offset = 0;
      for (const s of slices) {
        expect(s.offset).toBe(offset);
        expect(s.end).toBeGreaterThan(s.start);
        offset += s.end - s.start;
      }
      expect(offset).toBeLessThanOrEqual(7);
      expect(offset).toBeGreaterThan(0);
    }
  });
});
