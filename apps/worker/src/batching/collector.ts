/**
 * Collector: the dynamic batching window of one model version.
 *
 * Jobs arrive one by one (BullMQ hands each to a processor call); the collector decides when a
 * batch leaves for an ONNX session instance:
 *
 * - FULL: the head group holds `maxRows` rows → dispatch at once.
 * - DELAY: the oldest waiting job has waited `maxDelayMs` → dispatch what there is.
 * - BUSY: every instance is running a batch → nothing leaves; rows keep accumulating, so
 *   under load batches grow toward `maxRows` by themselves (the window only matters when
 *   the model is idle, which is when latency matters most).
 * - DRAINING (`drain()`): no more waiting; everything pending is dispatched as instances
 *   free up, and `drain()` resolves when the last batch finished.
 *
 * `maxRows` 0 means the model cannot batch: each job runs alone. The trade-off is Triton's:
 * `maxDelayMs` buys throughput with latency for the first job of a quiet period.
 *
 * Pending jobs are kept in queue order (`order`), not in the order they reached the
 * collector: jobs fetched concurrently can arrive out of order, and a late urgent job should
 * lead the next batch. Without it, a small job arriving just before a full-size one would cut
 * that one in two and leave its tail waiting a whole window. The window itself runs from the
 * arrival of the oldest pending job, wherever it sits.
 */
import { batchCap, compatibleRows, cutBatch, type PendingJob, type Slice } from './cut.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CollectorOptions<J> {
  maxRows: number;
  maxDelayMs: number;
  preferred?: readonly number[];
  /** batches that may run at once (session instances) */
  concurrency: number;
  /** runs one batch; a rejection is the runner's to report per job, the collector just goes on */
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
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: CollectorOptions<J>) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Rows waiting for a batch. */
  get pendingRows(): number {
    return this.pending.reduce((n, p) => n + p.rows - p.taken, 0);
  }

  get busy(): number {
    return this.running;
  }

  add(job: J, rows: number, shapeKey: string): void {
    const entry: PendingJob<J> = { job, rows, taken: 0, shapeKey, arrivedAt: this.clock.now() };
    const order = this.opts.order;
    let at = this.pending.length;
    // Behind every job it does not precede; a job already partly run keeps the head.
    if (order) while (at > 0 && this.pending[at - 1]!.taken === 0 && order(job, this.pending[at - 1]!.job) < 0) at--;
    this.pending.splice(at, 0, entry);
    this.pump();
  }

  /** Stop waiting for batches to fill; resolves when nothing is pending or running. */
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

  private ready(now: number): boolean {
    if (this.pending.length === 0) return false;
    if (this.draining || this.opts.maxRows === 0) return true;
    if (compatibleRows(this.pending) >= this.opts.maxRows) return true;
    return now - this.oldestArrival() >= this.opts.maxDelayMs;
  }

  private pump(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.clock.now();
    while (this.running < this.opts.concurrency && this.ready(now)) {
      const cap = this.opts.maxRows === 0 ? 0 : batchCap(compatibleRows(this.pending), this.opts.maxRows, this.opts.preferred ?? []);
      this.launch(cutBatch(this.pending, cap));
    }
    if (this.pending.length > 0 && this.running < this.opts.concurrency) {
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
