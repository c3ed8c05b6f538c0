/**
 * A task run every `ms` on an unref'd timer (it never keeps a process alive), one run at a
 * time: a tick while the last run is still going is skipped, and a run that fails is handed to
 * `onError` and tried again at the next tick. What the sweepers and lookers of both services
 * are built on (outboxes, dead workers, expired uploads and jobs, missed failures).
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly ms: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): this {
    this.timer ??= setInterval(() => {
      this.running ??= this.task()
        .then(() => undefined, this.onError)
        .finally(() => (this.running = undefined));
    }, this.ms);
    this.timer.unref();
    return this;
  }

  /** No more ticks; resolves once a run under way has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
