/**
 * OutboxSweeper: every worker process visits every listed outbox on a timer and relays the
 * entries whose writer did not (it died, or Redis failed it) once their lease ran out
 * (OutboxRelay.sweep). Sweeps never overlap; a failed sweep is logged and tried again.
 */
import type { Logger, OutboxRelay } from '@maas/shared';

/** How often every worker sweeps the outboxes. */
export const OUTBOX_SWEEP_MS = 1000;

export class OutboxSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly log: Logger,
    private readonly periodMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.relay.sweep().then(
        () => {},
        (err: unknown) => this.log.warn({ err }, 'outbox sweep failed'),
      ).finally(() => {
        this.running = undefined;
      });
    }, this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
