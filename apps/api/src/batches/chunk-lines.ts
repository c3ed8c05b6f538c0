/**
 * PURE: how a chunk's lines are kept in Redis (the batch's `lines` hash, one field per chunk),
 * for the results (custom ids, errors, rows per line) and for a cancel (how many lines ran).
 *
 * An NDJSON chunk keeps its list of lines. An `.npy` chunk's lines follow from its rows (row i
 * of the array is line i, custom_id "i", one row each), so it keeps only their range:
 * `{"first":16384,"rows":8192}` instead of 8,192 entries to build, write and parse again.
 */
import type { ChunkLine } from '@maas/shared';

/** The rows first … first+rows-1 of an `.npy` array, one line each. */
export interface RowRange {
  first: number;
  rows: number;
}

export type ChunkLines = ChunkLine[] | RowRange;

export const storedLines = (lines: ChunkLines): string => JSON.stringify(lines);

/** A chunk's lines from their stored form (none when absent). */
export function readLines(stored: string | null | undefined): ChunkLine[] {
  if (!stored) return [];
  const value = JSON.parse(stored) as ChunkLines;
  if (Array.isArray(value)) return value;
  const lines: ChunkLine[] = new Array(value.rows);
  for (let i = 0; i < value.rows; i++) lines[i] = [String(value.first + i), 1, 1];
  return lines;
}

/** How many lines of a chunk have rows (the others failed their checks at upload). */
export const linesWithRows = (lines: ChunkLines): number => (Array.isArray(lines) ? lines.filter((l) => l[1] > 0).length : lines.rows);
