/**
 * RetentionSweeper: finished BullMQ jobs leave Redis once their retention has passed, also in a
 * queue that has gone quiet.
 *
 * Jobs are made with `removeOnComplete` / `removeOnFail` of their retention (JOB_RETENTION_S,
 * BATCH_RETENTION_S for batch chunks), but BullMQ applies that age only inside its completion
 * script, to the jobs of the queue that finished before the one completing: a queue that gets no
 * more jobs (a version the version policy retired, an unloaded model, the webhooks queue after a
 * burst) kept its last retention's worth of jobs, inputs and outputs, with no TTL, and they
 * stayed readable past their retention (found by a soak audit: 6,808 records, 35 MB, unchanged
 * for minutes until a job of the same queue completed).
 *
 * Every SWEEP_MS one API process (a lock in Redis) asks BullMQ to clean each queue's completed
 * and failed sets of the jobs that finished more than `graceMs` ago (the longest retention any
 * job is made with, so nothing goes earlier than its own removal would have taken it). The
 * queues are those named in QUEUE_NAMES_KEY: every API process adds the queues it has made,
 * each sweep, so a version no longer served is still swept.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Periodic, PREFIX, QUEUE_NAMES_KEY, WEBHOOK_QUEUE, type Logger } from '@maas/shared';
import type { QueueRegistry } from './queues.js';

export const SWEEP_MS = 60_000;
/** Jobs one clean call removes at most; a sweep calls again while a call removes as many. */
const PER_CALL = 1000;
/** Calls a sweep makes a queue's set at most (the next sweep goes on). */
const CALLS_A_SWEEP = 20;
const LOCK_KEY = `${PREFIX}:retention:sweeping`;

export class RetentionSweeper {
  private readonly timer: Periodic;
  /** queues this sweeper cleans that the registry does not hold (retired versions, webhooks) */
  private readonly others = new Map<string, Queue>();

  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueRegistry,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {
    this.timer = new Periodic(() => this.sweep(), SWEEP_MS, (err, failures) => log.warn({ err, failures }, 'retention sweep failed; retried at the next'));
  }

  start(): this {
    this.timer.start();
    return this;
  }

  /**
   * Cleans every known queue unless another API process swept in the last SWEEP_MS (`force`
   * skips that check); resolves with how many finished jobs it removed.
   */
  async sweep(force = false): Promise<number> {
    const mine = [WEBHOOK_QUEUE, ...this.queues.all().map((q) => q.name)];
    await this.redis.sadd(QUEUE_NAMES_KEY, ...mine);
    if (!force && (await this.redis.set(LOCK_KEY, String(process.pid), 'PX', SWEEP_MS - 1000, 'NX')) === null) return 0;
    let removed = 0;
    for (const name of await this.redis.smembers(QUEUE_NAMES_KEY)) {
      const queue = this.queueNamed(name);
      for (const state of ['completed', 'failed'] as const) {
        for (let call = 0; call < CALLS_A_SWEEP; call++) {
          const ids = await queue.clean(this.graceMs, PER_CALL, state);
          removed += ids.length;
          if (ids.length < PER_CALL) break;
        }
      }
    }
    if (removed > 0) this.log.info({ removed }, 'finished jobs past their retention removed');
    return removed;
  }

  private queueNamed(name: string): Queue {
    const served = this.queues.all().find((q) => q.name === name);
    if (served) return served;
    let q = this.others.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.queues.connection, prefix: PREFIX });
      q.on('error', () => {}); // surfaced by the failing call
      this.others.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await this.timer.stop();
    await Promise.all([...this.others.values()].map((q) => q.close()));
  }
}
