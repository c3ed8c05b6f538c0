/**
 * Collector: the dynamic batcher of one model version (continuous batching, as Triton's
 * default dynamic batcher and vLLM/TGI do it).
 *
 * Jobs arrive one by one (BullMQ hands each to a processor call); the collector decides when a
 * run leaves for an ONNX session instance:
 *
 * - IDLE: an instance is free → it takes what is pending at once (up to `maxRows`). Arrivals
 *   of the same event-loop turn are gathered first (one `setImmediate`), so jobs fetched
 *   together run together; a lone job pays no window.
 * - BUSY: every instance is busy with a run → nothing leaves; rows keep accumulating, so
 *   under load runs grow toward `maxRows` by themselves, with no timer at all.
 * - PREFERRED: with `preferred` sizes configured, an idle instance waits for pending rows to
 *   reach the smallest preferred size, at most `maxDelayMs` from the oldest arrival (Triton's
 *   `max_queue_delay_microseconds`: an opt-in wait for fuller runs, an upper bound).
 * - FULL AHEAD (`fullAhead`): a full run (`maxRows` rows) cannot grow by waiting, so up to
 *   `fullAhead` of them (read whenever one is pending) may be handed out while every instance
 *   is busy; they queue behind the runs in flight, and an instance starts the next one the
 *   moment it ends instead of after a hand-off through this thread (a batch-file chunk is many
 *   full runs back to back; the runner sizes it with full-ahead.ts).
 * - DRAINING (`drain()`): no more waiting; everything pending is dispatched as instances
 *   free up, and `drain()` resolves when the last run finished. Jobs not started may be taken
 *   back first (`withdraw`).
 *
 * `maxRows` 0 means the model cannot batch: each job runs alone.
 *
 * Pending jobs are kept in queue order (`order`), not in the order they reached the
 * collector: jobs fetched concurrently can arrive out of order, and a late urgent job should
 * lead the next run. Without it, a small job arriving just before a full-size one would cut
 * that one in two. The window runs from the arrival of the oldest pending job, wherever it sits.
 */
import { runCap, compatibleRows, cutRun, type PendingJob, type Slice } from './cut.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** runs `fn` once the current event-loop turn's I/O is handled */
  soon(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  soon: (fn) => void setImmediate(fn),
};

export interface CollectorOptions<J> {
  maxRows: number;
  maxDelayMs: number;
  preferred?: readonly number[];
  /** runs that may compute at once (session instances) */
  concurrency: number;
  /**
   * full runs that may be handed out beyond `concurrency`, to queue behind running ones (0);
   * a function is asked whenever a full run is pending
   */
  fullAhead?: number | (() => number);
  /** executes one run; a rejection is the runner's to report per job, the collector just goes on */
  run: (slices: Slice<J>[]) => Promise<void>;
  /** queue order: negative when `a` should run before `b`; equal jobs keep arrival order */
  order?: (a: J, b: J) => number;
  clock?: Clock;
}

export class Collector<J> {
  private readonly pending: PendingJob<J>[] = [];
  private readonly clock: Clock;
  private running = 0;
  private timer: unknown;
  private draining = false;
  private pumpQueued = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: CollectorOptions<J>) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Rows waiting for a run. */
  get pendingRows(): number {
    return this.pending.reduce((n, p) => n + p.rows - p.taken, 0);
  }

  get busy(): number {
    return this.running;
  }

  /** Whether a job of `rows` rows added now would leave at the end of this turn: an instance is free, nothing waits, no window to fill. */
  startsAtOnce(rows: number): boolean {
    return this.running < this.opts.concurrency && this.pending.length === 0 && (this.draining || this.opts.maxRows === 0 || rows >= this.fill);
  }

  add(job: J, rows: number, shapeKey: string): void {
    const entry: PendingJob<J> = { job, rows, taken: 0, shapeKey, arrivedAt: this.clock.now() };
    const order = this.opts.order;
    let at = this.pending.length;
    // Behind every job it does not precede; a job already partly run keeps the head.
    if (order) while (at > 0 && this.pending[at - 1]!.taken === 0 && order(job, this.pending[at - 1]!.job) < 0) at--;
    this.pending.splice(at, 0, entry);
    // Gather the rest of this turn's arrivals before an idle instance takes the run.
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      this.clock.soon(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  /**
   * Takes back the pending jobs `pick` chooses that no run has started (none of their rows
   * taken), in queue order: a stopping worker hands them back to their queue rather than run them.
   */
  withdraw(pick: (job: J) => boolean): J[] {
    const out: J[] = [];
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.taken > 0 || !pick(p.job)) continue;
      out.unshift(p.job);
      this.pending.splice(i, 1);
    }
    if (out.length > 0) this.pump(); // a drain waiting for them ends if nothing else is left
    return out;
  }

  /** Stop waiting for runs to fill; resolves when nothing is pending or running. */
  drain(): Promise<void> {
    this.draining = true;
    this.pump();
    if (this.pending.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** When the oldest pending job arrived (pending is in queue order, not arrival order). */
  private oldestArrival(): number {
    let oldest = Infinity;
    for (const p of this.pending) if (p.arrivedAt < oldest) oldest = p.arrivedAt;
    return oldest;
  }

  /** Rows an idle instance waits for (the smallest preferred size), or 0: take what there is. */
  private get fill(): number {
    const preferred = this.opts.preferred ?? [];
    if (preferred.length === 0 || this.opts.maxDelayMs <= 0) return 0;
    return Math.min(this.opts.maxRows, ...preferred);
  }

  /** Whether a free instance should take a run now (the caller checked one is free). */
  private ready(now: number): boolean {
    if (this.pending.length === 0) return false;
    if (this.draining || this.opts.maxRows === 0) return true;
    const fill = this.fill;
    if (fill === 0 || compatibleRows(this.pending) >= fill) return true;
    return now - this.oldestArrival() >= this.opts.maxDelayMs;
  }

  private pump(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.clock.now();
    while (this.running < this.opts.concurrency && this.ready(now)) {
      const cap = this.opts.maxRows === 0 ? 0 : runCap(compatibleRows(this.pending), this.opts.maxRows, this.opts.preferred ?? []);
      this.launch(cutRun(this.pending, cap));
    }
    // Asked only when a full run is pending: most dispatches (single rows under load) have none.
    if (this.opts.maxRows > 0 && compatibleRows(this.pending) >= this.opts.maxRows) {
      const ahead = typeof this.opts.fullAhead === 'function' ? this.opts.fullAhead() : (this.opts.fullAhead ?? 0);
      while (this.running < this.opts.concurrency + ahead && compatibleRows(this.pending) >= this.opts.maxRows) {
        this.launch(cutRun(this.pending, this.opts.maxRows));
      }
    }
    if (this.pending.length > 0 && this.running < this.opts.concurrency && this.fill > 0) {
      const wait = Math.max(0, this.oldestArrival() + this.opts.maxDelayMs - now);
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
    if (this.pending.length === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private launch(slices: Slice<J>[]): void {
    this.running++;
    this.opts
      .run(slices)
      .catch(() => {})
      .finally(() => {
        this.running--;
        this.pump();
      });
  }
}
