/**
 * PURE: how a chunk's lines are kept in Redis (the batch's `lines` hash, one field per chunk),
 * for the results (custom ids, errors, rows per line) and for a cancel (how many lines ran).
 *
 * - An `.npy` chunk's lines follow from its rows (row i of the array is line i, custom_id
 *   "i", one row each), so it keeps only their range: `{"first":16384,"rows":8192}`.
 * - An NDJSON chunk whose every line is one compact row that passed its checks (the common
 *   case) keeps only its custom ids: `{"ids":["r0","r1",…]}`. A list of 8,192 `["r0",1,1]`
 *   entries took 43 ms to write and 68–90 ms to parse for 200,000 lines; the ids 17 and 21.
 * - Any other chunk keeps its list of lines, `[["r0",1,1],["bad",0,0,{error}],…]`.
 *
 * Read back, a line of one compact row that ran is its custom id alone (a string), so none of
 * the forms makes an array a line.
 */
import type { ChunkLine } from '@maas/shared';

/** The rows first … first+rows-1 of an `.npy` array, one line each. */
export interface RowRange {
  first: number;
  rows: number;
}

/** The custom ids of a chunk's lines, each one compact row that passed its checks. */
interface IdList {
  ids: string[];
}

export type ChunkLines = ChunkLine[] | RowRange;

/** A line read back: its ChunkLine, or (one compact row that passed its checks) its custom id. */
export type ReadLine = ChunkLine | string;

const plainRow = (l: ChunkLine): boolean => l[1] === 1 && l[2] === 1 && l[3] === undefined;

export function storedLines(lines: ChunkLines): string {
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every(plainRow)) return JSON.stringify(lines);
  return JSON.stringify({ ids: lines.map((l) => l[0]) } satisfies IdList);
}

/** A chunk's lines from their stored form (none when absent). */
export function readLines(stored: string | null | undefined): readonly ReadLine[] {
  if (!stored) return [];
  const value = JSON.parse(stored) as ChunkLines | IdList;
  if (Array.isArray(value)) return value;
  if ('ids' in value) return value.ids;
  const lines: string[] = new Array(value.rows);
  for (let i = 0; i < value.rows; i++) lines[i] = String(value.first + i);
  return lines;
}

/** How many lines of a chunk have rows (the others failed their checks at upload). */
export function linesWithRows(lines: RowRange | readonly ReadLine[]): number {
  if (!('length' in lines)) return lines.rows;
  let n = 0;
  for (const l of lines) if (typeof l === 'string' || l[1] > 0) n++;
  return n;
}
