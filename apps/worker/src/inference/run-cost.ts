/**
 * PURE: what a run of n rows costs on this model, learnt from the runs so far, so the pool can
 * tell a run that takes microseconds (not worth two thread hand-offs) from one that would
 * hold the main thread (see session-pool.ts).
 *
 * Every recent run bounds the cost of an n-row run from above: a run of m ≥ n rows cost at
 * least as much, and a run of m < n rows scaled by n/m costs at least as much too (for a cost
 * a + b·rows with a ≥ 0). A run's measured time is its cost plus whatever delayed it (waiting
 * for a core while the API, Redis and the load share the machine, waking ONNX Runtime's idle
 * threads, the event-loop hop inside `session.run`), and delays only ever add: so the
 * prediction is the LOWEST of these bounds over the last RECENT_RUNS runs, not an average.
 * Measured on a busy 2-core machine, averages put a 1-row run of the benchmark MLP at 0.6 ms
 * and a 40-row run at 2.7 ms (both a few tens of microseconds), and every run went to a
 * thread. A size never seen is bounded only by scaling up smaller runs, never guessed cheap
 * from noise, so a large run cannot slip onto the main thread.
 */

/** Runs observed before predictions are trusted. */
export const WARM_UP_RUNS = 8;
/** How many recent runs the bounds are taken from. */
export const RECENT_RUNS = 64;

export class RunCost {
  private readonly rows: number[] = [];
  private readonly ms: number[] = [];
  private next = 0;

  /** Records a run of `rows` rows that took `ms`. */
  observe(rows: number, ms: number): void {
    const n = Math.max(1, rows);
    if (this.rows.length < RECENT_RUNS) {
      this.rows.push(n);
      this.ms.push(ms);
    } else {
      this.rows[this.next] = n;
      this.ms[this.next] = ms;
    }
    this.next = (this.next + 1) % RECENT_RUNS;
  }

  /** Predicted ms of a run of `rows` rows; Infinity until WARM_UP_RUNS runs were seen. */
  predict(rows: number): number {
    if (this.rows.length < WARM_UP_RUNS) return Infinity; // (the window holds every run until RECENT_RUNS)
    const n = Math.max(1, rows);
    let best = Infinity;
    for (let i = 0; i < this.rows.length; i++) {
      const m = this.rows[i]!;
      const bound = m >= n ? this.ms[i]! : (this.ms[i]! * n) / m;
      if (bound < best) best = bound;
    }
    return best;
  }
}
