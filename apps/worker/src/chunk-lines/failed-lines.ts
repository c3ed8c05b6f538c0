/**
 * PURE: a batch chunk's lines whose run failed. A chunk's failed run is run again line by line
 * (failed-runs.ts), so a line whose values fail the model fails alone; these say
 * which rows those lines hold and whether the chunk failed as a whole.
 */
import type { JobError } from '@maas/shared';
import type { LineRanges } from './line-ranges.js';

/** Lines of a batch chunk that may fail alone (failed-runs.ts); past them, a failing run's lines fail together. */
export const MAX_LINES_FAILED_ALONE = 256;

export const LINES_FAILED_TOGETHER: JobError = {
  type: 'inference-failed',
  message: `this line's run failed after ${MAX_LINES_FAILED_ALONE} other lines of its chunk had failed theirs, so its lines were not run again one by one (does the model fail every line?)`,
};

/** Whether the lines failed with one error (else each keeps its own, though all failed: another line's values are not its to show). */
export function sameError(errors: ReadonlyMap<number, JobError>): boolean {
  let first: string | undefined;
  for (const e of errors.values()) {
    first ??= e.message;
    if (e.message !== first) return false;
  }
  return true;
}

/** The row ranges [start, end) of the failed lines, keyed by their first rows. */
export const lineRanges = (lines: LineRanges, failed: ReadonlyMap<number, unknown>): [number, number][] =>
  [...failed.keys()].map((start) => [start, lines.end(lines.lineOf(start))]);

export const rowsIn = (ranges: readonly [number, number][]): number => ranges.reduce((n, [a, b]) => n + b - a, 0);
