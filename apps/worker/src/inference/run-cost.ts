/**
 * PURE: what a run of n rows costs on this model, learnt from the runs so far, so the pool can
 * tell a run that takes microseconds (not worth two thread hand-offs) from one that would
 * hold the main thread (see session-pool.ts).
 *
 * A run's measured time is its cost plus whatever delayed it: waiting for a core while the API,
 * Redis and the load share the machine, waking ONNX Runtime's idle threads, the event-loop hop
 * inside `session.run`. Delays only ever add, so the cost is the LOWEST of the recent
 * observations (the last RECENT_RUNS of each kind), not their average: measured on a busy
 * 2-core machine, averages put a 1-row run of the benchmark MLP at 0.6 ms and a 40-row run at
 * 2.7 ms (both a few tens of microseconds), and every run went to a thread.
 */

/** Runs observed before predictions are trusted. */
export const WARM_UP_RUNS = 8;
/** How many recent observations of each kind the lowest is taken from. */
export const RECENT_RUNS = 32;

/** The lowest of the last RECENT_RUNS values pushed. */
class RecentMin {
  private readonly values: number[] = [];
  private next = 0;

  push(v: number): void {
    if (this.values.length < RECENT_RUNS) this.values.push(v);
    else this.values[this.next] = v;
    this.next = (this.next + 1) % RECENT_RUNS;
  }

  get min(): number | undefined {
    return this.values.length === 0 ? undefined : Math.min(...this.values);
  }
}

export class RunCost {
  private runs = 0;
  private minMs = Infinity;
  /** ms of runs of one or two rows (the fixed cost), and ms per further row of larger runs */
  private readonly fixedMs = new RecentMin();
  private readonly perRowMs = new RecentMin();

  /** Records a run of `rows` rows that took `ms`. */
  observe(rows: number, ms: number): void {
    this.runs++;
    this.minMs = Math.min(this.minMs, ms);
    if (rows <= 2) this.fixedMs.push(ms);
    else this.perRowMs.push(Math.max(0, ms - this.fixed) / rows);
  }

  private get fixed(): number {
    return this.fixedMs.min ?? this.minMs;
  }

  /** Predicted ms of a run of `rows` rows; Infinity until WARM_UP_RUNS runs were seen. */
  predict(rows: number): number {
    if (this.runs < WARM_UP_RUNS) return Infinity;
    return this.fixed + (this.perRowMs.min ?? 0) * Math.max(1, rows);
  }
}
