/**
 * ExpirySweeper: ends `/v1/jobs` jobs still queued at their deadline (`timeout_ms`), so their
 * job.completed (failed, `expired`) goes out then, whether or not a worker serves the model,
 * and their rows leave the tenant's queued-rows quota. Until it runs, a reader already sees
 * such a job as expired (views/job.ts, `overdue`); the worker that fetches one fails it at once
 * with the deferred failure EXPIRE_JOB_LUA gives it, never running it; a worker that reached
 * one before the sweep records the expiry itself, as before.
 *
 * Each job created with a deadline is in its queue's deadlines set (`deadlinesKey`), the queue
 * in DEADLINE_QUEUES_KEY. Every API process sweeps every SWEEP_MS, unref'd: ZREM is the claim
 * (one process gets 1), then the ending is one script (EXPIRE_JOB_LUA), relayed as a cancel's
 * is (a worker's outbox sweeper relays it if this process dies first). A process that dies
 * between its claim and the script leaves that job to the worker that reaches it.
 */
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DEADLINE_QUEUES_KEY, deadlinesKey, expireJob, Periodic, jobWebhookEvent, toJobObject, type InferenceJobData, type Logger, type OutboxRelay, type StoredJob,
} from '@maas/shared';
import type { Admission } from '../quotas/ledger.js';
import type { QueueRegistry } from './queues.js';

const SWEEP_MS = 1000;
/** Jobs one sweep expires a queue (the next sweep takes the rest). */
const PER_SWEEP = 200;

export class ExpirySweeper {
  private readonly timer: Periodic;

  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueRegistry,
    private readonly relay: OutboxRelay,
    private readonly admission: Admission | undefined,
    log: Logger,
  ) {
    this.timer = new Periodic(() => this.sweep(), SWEEP_MS, (err) => log.warn({ err }, 'expiry sweep failed; retried at the next'));
  }

  start(): this {
    this.timer.start();
    return this;
  }

  /** Ends the queued jobs whose deadline has passed by `now`; resolves with how many this process expired. */
  async sweep(now = Date.now()): Promise<number> {
    let expired = 0;
    for (const queueName of await this.redis.smembers(DEADLINE_QUEUES_KEY)) {
      const key = deadlinesKey(queueName);
      // Past their deadline, not at it: a job reads as expired only once `now` is past it.
      for (const id of await this.redis.zrangebyscore(key, '-inf', `(${now}`, 'LIMIT', 0, PER_SWEEP)) {
        if ((await this.redis.zrem(key, id)) !== 1) continue; // another API took it
        if (await this.expire(queueName, id, now)) expired++;
      }
    }
    return expired;
  }

  private async expire(queueName: string, id: string, now: number): Promise<boolean> {
    const job = await Job.fromId<InferenceJobData>(this.queues.byName(queueName), id);
    if (!job) return false;
    // Its job.completed, as any reader sees it from its deadline on (views/job.ts `overdue`).
    const event = jobWebhookEvent('completed', toJobObject(job as StoredJob, 'waiting', null, now), job.data.tenant, now);
    const { verdict, items } = await expireJob(this.redis, queueName, id, event, now);
    if (verdict !== 'expired') return false;
    await this.relay.relay(queueName, items);
    await this.admission?.release(job.data.tenant, [{ queue: queueName, jobId: id, rows: 0 }]); // quota: it will never run
    return true;
  }

  close(): Promise<void> {
    return this.timer.stop();
  }
}
