/**
 * PURE: where a batch chunk's lines lie among its rows, so that a run that failed can run its
 * lines again apart and fail only the lines at fault (failed-runs.ts). A line is what
 * a client sent as one request: of one row (a compact line, an `.npy` row) or of several (a
 * tensor-form line of shape `[n, …]`), whose rows may be spread over several runs.
 */
export class LineRanges {
  /** starts[i]: the first row of line i, and starts[count] = rows; undefined when each line is one row */
  private readonly starts: number[] | undefined;

  private constructor(starts: number[] | undefined) {
    this.starts = starts;
  }

  /**
   * A chunk job's lines (`batch.lines` lines with rows, `batch.lineRows` of each) among its
   * `rows`; undefined when they do not say where the lines lie: lines of several rows without
   * `lineRows` (an API from before it), or counts that do not add up.
   */
  static of(rows: number, lines: number, lineRows?: readonly number[]): LineRanges | undefined {
    if (!lineRows) return lines === rows ? new LineRanges(undefined) : undefined;
    if (lineRows.length !== lines) return undefined;
    const starts = [0];
    for (const n of lineRows) starts.push(starts[starts.length - 1]! + n);
    return starts[starts.length - 1] === rows ? new LineRanges(starts) : undefined;
  }

  /** Whether every line is one row (a row range is then its lines). */
  get oneRowEach(): boolean {
    return this.starts === undefined;
  }

  /** The first row of `line`. */
  start(line: number): number {
    return this.starts ? this.starts[line]! : line;
  }

  /** The row after the last of `line`. */
  end(line: number): number {
    return this.starts ? this.starts[line + 1]! : line + 1;
  }

  /** The line that holds `row`. */
  lineOf(row: number): number {
    const s = this.starts;
    if (!s) return row;
    let lo = 0;
    let hi = s.length - 2; // the last line
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The lines [first, last) that rows [start, end) touch, whole or in part (start < end). */
  touched(start: number, end: number): [first: number, last: number] {
    return [this.lineOf(start), this.lineOf(end - 1) + 1];
  }
}
