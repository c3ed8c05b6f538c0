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
    this.pending.push({ job, rows, taken: 0, shapeKey, arrivedAt: this.clock.now() });
    this.pump();
  }

  /** Stop waiting for batches to fill; resolves when nothing is pending or running. */
  drain(): Promise<void> {
    this.draining = true;
    this.pump();
    if (this.pending.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private ready(now: number): boolean {
    const head = this.pending[0];
    if (!head) return false;
    if (this.draining || this.opts.maxRows === 0) return true;
    if (compatibleRows(this.pending) >= this.opts.maxRows) return true;
    return now - head.arrivedAt >= this.opts.maxDelayMs;
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
    const head = this.pending[0];
    if (head && this.running < this.opts.concurrency) {
      const wait = Math.max(0, head.arrivedAt + this.opts.maxDelayMs - now);
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
