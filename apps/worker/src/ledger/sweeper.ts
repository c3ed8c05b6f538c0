/**
 * OutboxSweeper: every worker process visits every listed outbox on a timer and relays the
 * entries whose writer did not (it died, or Redis failed it) once their lease ran out
 * (OutboxRelay.sweep). Sweeps never overlap; a failed sweep is logged and tried again.
 */
import { Periodic, type Logger, type OutboxRelay } from '@maas/shared';

/** How often every worker sweeps the outboxes. */
export const OUTBOX_SWEEP_MS = 1000;

export class OutboxSweeper {
  private readonly timer: Periodic;

  constructor(relay: OutboxRelay, log: Logger, periodMs: number) {
    this.timer = new Periodic(() => relay.sweep(), periodMs, (err, failures) => log.warn({ err, failures }, 'outbox sweep failed'));
  }

  start(): void {
    this.timer.start();
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }
}
