/**
 * PURE: what a run of n rows costs on this model, learnt from the runs so far, so the pool can
 * tell a run that takes microseconds (not worth two thread hand-offs) from one that would
 * hold the main thread (see session-pool.ts).
 */

/** Runs observed before predictions are trusted. */
export const WARM_UP_RUNS = 8;

export class RunCost {
  private runs = 0;
  private minMs = Infinity;
  /** moving averages: ms of a run of one or two rows (the fixed cost), and ms per further row */
  private fixedMs: number | undefined;
  private perRowMs = 0;

  /** Records a run of `rows` rows that took `ms`. */
  observe(rows: number, ms: number): void {
    this.runs++;
    this.minMs = Math.min(this.minMs, ms);
    if (rows <= 2) {
      this.fixedMs = this.fixedMs === undefined ? ms : this.fixedMs * 0.8 + ms * 0.2;
      return;
    }
    const perRow = Math.max(0, ms - this.fixed) / rows;
    this.perRowMs = this.perRowMs === 0 ? perRow : this.perRowMs * 0.8 + perRow * 0.2;
  }

  private get fixed(): number {
    return this.fixedMs ?? this.minMs;
  }

  /** Predicted ms of a run of `rows` rows; Infinity until WARM_UP_RUNS runs were seen. */
  predict(rows: number): number {
    if (this.runs < WARM_UP_RUNS) return Infinity;
    return this.fixed + this.perRowMs * Math.max(1, rows);
  }
}
