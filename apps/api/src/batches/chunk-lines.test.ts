import { describe, expect, it } from 'vitest';
import type { ChunkLine } from '@maas/shared';
import { linesWithRows, readLines, storedLines } from './chunk-lines.js';

describe('chunk lines', () => {
  it('an NDJSON chunk with any other line keeps its list: custom ids, rows, form and errors', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b', 0, 0, { type: 'invalid-input', message: 'no' }], ['c', 3, 0], ['d', 1, 0]];
    expect(storedLines(lines)).toBe(JSON.stringify(lines));
    expect(readLines(storedLines(lines))).toEqual(lines);
    expect(linesWithRows(lines)).toBe(3);
    expect(linesWithRows(readLines(storedLines(lines)))).toBe(3);
  });

  it('an NDJSON chunk of compact single rows only keeps its custom ids, read back as the ids', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b "quoted", \\ and ✓', 1, 1], ['', 1, 1]];
    const stored = storedLines(lines);
    expect(stored).toBe(JSON.stringify({ ids: ['a', 'b "quoted", \\ and ✓', ''] }));
    expect(readLines(stored)).toEqual(['a', 'b "quoted", \\ and ✓', '']);
    expect(linesWithRows(readLines(stored))).toBe(3);
  });

  it('reads the list form written for such a chunk before the ids were (a batch uploaded by an older release)', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b', 1, 1]];
    expect(readLines(JSON.stringify(lines))).toEqual(lines);
  });

  it('an .npy chunk keeps only its range: row i is line i with custom_id "i"', () => {
    const stored = storedLines({ first: 8192, rows: 3 });
    expect(stored).toBe('{"first":8192,"rows":3}');
    expect(readLines(stored)).toEqual(['8192', '8193', '8194']);
    expect(linesWithRows({ first: 8192, rows: 3 })).toBe(3);
  });

  it('no stored lines read as none', () => {
    expect(readLines(null)).toEqual([]);
    expect(readLines(undefined)).toEqual([]);
    expect(storedLines([])).toBe('[]');
  });
});
