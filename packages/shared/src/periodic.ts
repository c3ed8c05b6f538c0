/**
 * A task run every `ms` on an unref'd timer (it never keeps a process alive), one run at a
 * time: a tick while the last run is still going is skipped, and a run that fails is tried
 * again at the next tick. What the sweepers and lookers of both services are built on
 * (outboxes, dead workers, expired uploads and jobs, missed failures).
 *
 * Failures are handed to `onError` with how many runs in a row have failed: the first of a
 * streak, then at most one every `reportEveryMs` while it lasts, so an outage of Redis that
 * fails a one-second sweeper 600 times logs 10 lines, not 600.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private reportedAt = 0;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly ms: number,
    private readonly onError: (err: unknown, failuresInARow: number) => void,
    private readonly reportEveryMs = 60_000,
  ) {}

  start(): this {
    this.stopped = false;
    this.timer ??= setInterval(() => this.now(), this.ms);
    this.timer.unref();
    return this;
  }

  /** A run now, besides the ticks (none when one is under way, or once stopped). */
  now(): void {
    if (this.stopped) return;
    this.running ??= this.task()
      .then(() => void (this.failures = 0), (err: unknown) => this.failed(err))
      .finally(() => (this.running = undefined));
  }

  /** No more ticks; resolves once a run under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private failed(err: unknown): void {
    this.failures++;
    const now = Date.now();
    if (this.failures > 1 && now - this.reportedAt < this.reportEveryMs) return;
    this.reportedAt = now;
    this.onError(err, this.failures);
  }
}
