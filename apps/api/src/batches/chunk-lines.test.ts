import { describe, expect, it } from 'vitest';
import type { ChunkLine } from '@maas/shared';
import { linesWithRows, readLines, storedLines } from './chunk-lines.js';

describe('chunk lines', () => {
  it('an NDJSON chunk keeps its list: custom ids, rows, form and errors', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b', 0, 0, { type: 'invalid-input', message: 'no' }], ['c', 3, 0]];
    expect(readLines(storedLines(lines))).toEqual(lines);
    expect(linesWithRows(lines)).toBe(2);
  });

  it('an .npy chunk keeps only its range: row i is line i with custom_id "i"', () => {
    const stored = storedLines({ first: 8192, rows: 3 });
    expect(stored).toBe('{"first":8192,"rows":3}');
    expect(readLines(stored)).toEqual([['8192', 1, 1], ['8193', 1, 1], ['8194', 1, 1]]);
    expect(linesWithRows({ first: 8192, rows: 3 })).toBe(3);
  });

  it('no stored lines read as none', () => {
    expect(readLines(null)).toEqual([]);
    expect(readLines(undefined)).toEqual([]);
  });
});
