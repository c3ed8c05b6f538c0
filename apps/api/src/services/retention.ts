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
 * and failed sets of the jobs that finished longer ago than their retention allows: completed
 * jobs JOB_RETENTION_S (batch chunks leave at completion), failed ones the longer of it and
 * BATCH_RETENTION_S (a failed chunk is kept as long as its batch; the failed set does not tell
 * the two apart), the webhooks queue's JOB_RETENTION_S. So nothing goes earlier than its own
 * removal would have taken it. The queues are those named in QUEUE_NAMES_KEY: every API process
 * adds the queues it has made, each sweep, so a version no longer served is still swept. The
 * first sweep of a deployment also adds the model queues found in Redis by their BullMQ meta
 * hash (one SCAN, marked done in ADOPTED_KEY), so that queues made before QUEUE_NAMES_KEY
 * existed, or by an API process that left before it swept, are swept too.
 * BullMQ's clean is called only for a set that holds such a job (one ZRANGEBYSCORE first): each
 * call appends a `cleaned` event to the queue's events stream, and a Queue object writes the
 * queue's meta, which a quiet queue must not gain every minute. Each sweep also drops each
 * queue's events older than JOB_RETENTION_S (`trimEvents`): they hold jobs' outputs.
 */
import type { Redis } from 'ioredis';
import { clusterNow, bullCompletedKey, bullFailedKey, Periodic, PREFIX, QUEUE_NAMES_KEY, scanKeys, WEBHOOK_QUEUE, type Logger } from '@maas/shared';
import type { QueueRegistry } from './queues.js';

export const SWEEP_MS = 60_000;
/** Jobs one clean call removes at most (one script: about 3-5 ms of Redis for 200 jobs of 40 KB); a sweep calls again while a call removes as many. */
const PER_CALL = 200;
/** Calls a sweep makes a queue's set at most (the next sweep goes on). */
const CALLS_A_SWEEP = 50;
const LOCK_KEY = `${PREFIX}:retention:sweeping`;
/** Set once the model queues already in Redis have been added to QUEUE_NAMES_KEY (kept: once a deployment). */
const ADOPTED_KEY = `${PREFIX}:retention:adopted`;
/** A model queue's BullMQ meta hash (inferenceQueueName); a batch's meta (`{b-…}`) is not one. */
const QUEUE_META = new RegExp(`^${PREFIX}:(\\{infer-[^}]*\\}):meta$`);

/** PURE: the model queue whose BullMQ meta hash `key` is, or undefined. */
export function queueOfMetaKey(key: string): string | undefined {
  return QUEUE_META.exec(key)?.[1];
}

export class RetentionSweeper {
  private readonly timer: Periodic;

  /**
   * @param retention.jobMs JOB_RETENTION_S in ms
   * @param retention.batchMs BATCH_RETENTION_S in ms
   */
  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueRegistry,
    private readonly retention: { jobMs: number; batchMs: number },
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
    await this.adoptQueuesInRedis();
    let removed = 0;
    for (const name of await this.redis.smembers(QUEUE_NAMES_KEY)) {
      try {
        for (const state of ['completed', 'failed'] as const) removed += await this.clean(name, state);
        await this.trimEvents(name);
      } catch (err) {
        this.log.warn({ err, queue: name }, 'retention sweep of a queue failed; the next sweep tries again');
      }
    }
    if (removed > 0) this.log.info({ removed }, 'finished jobs past their retention removed');
    return removed;
  }

  /** Adds the model queues found in Redis to QUEUE_NAMES_KEY, once a deployment (see the file's comment). */
  private async adoptQueuesInRedis(): Promise<void> {
    if ((await this.redis.exists(ADOPTED_KEY)) === 1) return;
    const found = new Set<string>();
    for await (const key of scanKeys(this.redis, `${PREFIX}:{infer-*}:meta`)) {
      const name = queueOfMetaKey(key);
      if (name) found.add(name);
    }
    if (found.size > 0) await this.redis.sadd(QUEUE_NAMES_KEY, ...found);
    await this.redis.set(ADOPTED_KEY, String(clusterNow())); // after the scan: a sweep cut short by an error scans again
    this.log.info({ queues: found.size }, 'model queues in Redis adopted by the retention sweep');
  }

  /**
   * Drops the queue's events older than JOB_RETENTION_S: BullMQ trims its events stream only by
   * count (about 10,000), so a quiet queue's stream kept every job's outputs and failure messages
   * with no TTL, past the jobs' own removal (a privacy audit). Exact, not `~`: a stream under one
   * radix node (100 entries) is never trimmed approximately. A missing stream is not made.
   */
  private async trimEvents(name: string): Promise<void> {
    await this.redis.xtrim(`${PREFIX}:${name}:events`, 'MINID', clusterNow() - this.retention.jobMs);
  }

  /** PURE: how long a queue's finished jobs of `state` are kept (see the file's comment). */
  graceMs(queue: string, state: 'completed' | 'failed'): number {
    const { jobMs, batchMs } = this.retention;
    return state === 'failed' && queue !== WEBHOOK_QUEUE ? Math.max(jobMs, batchMs) : jobMs;
  }

  private async clean(name: string, state: 'completed' | 'failed'): Promise<number> {
    const grace = this.graceMs(name, state);
    const finished = state === 'completed' ? bullCompletedKey(name) : bullFailedKey(name);
    const due = await this.redis.zrangebyscore(finished, '-inf', clusterNow() - grace, 'LIMIT', 0, 1);
    if (due.length === 0) return 0;
    // The registry's queue (made now for a retired version or the webhooks queue): closed with the registry.
    const queue = this.queues.byName(name);
    let removed = 0;
    for (let call = 0; call < CALLS_A_SWEEP; call++) {
      const ids = await queue.clean(grace, PER_CALL, state);
      removed += ids.length;
      if (ids.length < PER_CALL) break;
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.timer.stop();
  }
}
