/**
 * UploadSweeper: removes batch uploads whose lease ran out. An API process renews the lease
 * of each upload it is reading (services/batches.ts); when the process dies mid-upload, no
 * one renews it, and the first API process to see it expired takes it (pushing the lease
 * ahead is the claim: due-entries.ts) and removes the batch with its queued chunks.
 * Without this, such a batch would be invisible (never uploaded) yet its chunks would run, and
 * its records stay for weeks. An upload whose process died after marking it uploaded, before it was listed and
 * its lease given up, is finished instead (BatchService.abandoned). Runs every half lease,
 * unref'd; a Redis outage only delays it.
 */
import type { Redis } from 'ioredis';
import { clusterNow, Periodic, UPLOADS_KEY, type Logger } from '@maas/shared';
import { dueIds, takeDue } from './due-entries.js';

/** How many expired uploads one sweep handles (the next sweep takes the rest). */
const PER_SWEEP = 50;

export class UploadSweeper {
  private readonly timer: Periodic;
  private readonly leaseMs: number;

  constructor(
    private readonly redis: Redis,
    /** removes the upload, or finishes it when it had been marked uploaded (BatchService.abandoned) */
    private readonly abandoned: (batchId: string) => Promise<'removed' | 'finished' | 'kept'>,
    leaseSeconds: number,
    private readonly log: Logger,
  ) {
    this.leaseMs = leaseSeconds * 1000;
    this.timer = new Periodic(() => this.sweep(), this.leaseMs / 2, (err, failures) => this.log.warn({ err, failures }, 'upload sweep failed; retried at the next'));
  }

  start(): this {
    this.timer.start();
    return this;
  }

  /** Removes (or, marked uploaded, finishes) the uploads whose lease expired by now. */
  async sweep(now = clusterNow()): Promise<void> {
    for (const id of await dueIds(this.redis, UPLOADS_KEY, now, PER_SWEEP)) {
      // Claimed by pushing its lease ahead, not removing it: should this sweep fail or its process
      // die half way, the lease runs out again and another sweep takes it up. Done, it goes.
      if (!(await takeDue(this.redis, UPLOADS_KEY, id, now, clusterNow() + this.leaseMs))) continue; // another API took it
      const done = await this.abandoned(id);
      if (done === 'removed') this.log.warn({ batch: id }, 'batch upload abandoned by its API process (lease expired): removed with its chunks');
      else if (done === 'finished') this.log.warn({ batch: id }, 'batch upload ended, but its API process died before it was listed: listed and completed here');
    }
  }

  close(): Promise<void> {
    return this.timer.stop();
  }
}
