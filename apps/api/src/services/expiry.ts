/**
 * ExpirySweeper: ends `/v1/jobs` jobs still queued at their deadline (`timeout_ms`) that no
 * worker has taken (one taken, whose worker died, runs to its end on another), so their
 * job.completed (failed, `expired`) goes out then, whether or not a worker serves the model,
 * and their rows leave the tenant's queued-rows quota. Until it runs, a reader already sees
 * such a job as expired (views/job.ts, `overdue`); the worker that fetches one fails it at once
 * with the deferred failure EXPIRE_JOB_LUA gives it, never running it; a worker that reached
 * one before the sweep records the expiry itself, as before.
 *
 * Each job created with a deadline is in its queue's deadlines set (`deadlinesKey`), the queue
 * in DEADLINE_QUEUES_KEY. Every API process sweeps every SWEEP_MS, unref'd. One script a pass
 * (DUE_DEADLINES_LUA) drops the due entries of jobs that were taken or ended (most of them), looks
 * again later at those a worker holds, and claims the others for CLAIM_MS; each claimed job's
 * ending is one script (EXPIRE_JOB_LUA, which does nothing to a job already ended), relayed as
 * a cancel's is (a worker's outbox sweeper relays it if this process dies first), and then its
 * entry goes. A sweeper that dies or fails between the two leaves the job to the next sweep.
 */
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, bullJobKey, DEADLINE_QUEUES_KEY, deadlinesKey, DUE_DEADLINES_LUA, expireJob, Periodic, jobWebhookEvent, toJobObject, versionOfQueue, type InferenceJobData, type Logger, type OutboxRelay, type StoredJob,
} from '@maas/shared';
import type { Admission } from '../quotas/queued-rows.js';
import type { QueueRegistry } from './queues.js';

const SWEEP_MS = 1000;
/** Due entries one script call looks at; a sweep calls it again while it finds as many. */
const PER_CALL = 1000;
/** Calls a sweep makes a queue at most (the next sweep goes on). */
const CALLS_A_SWEEP = 20;
/** A job a worker holds at its deadline is looked at again after this (it may go back to the queue). */
const RECHECK_MS = 5000;
/** A claimed job left unexpired (its sweeper died or failed) is taken again after this. */
const CLAIM_MS = 30_000;

export class ExpirySweeper {
  private readonly timer: Periodic;

  constructor(
    private readonly redis: Redis,
    private readonly queues: QueueRegistry,
    private readonly relay: OutboxRelay,
    private readonly admission: Admission | undefined,
    private readonly log: Logger,
    /** told of each job this process expires, by its queue's model (`maas_jobs_expired_total`; a queue not named for a model version: its name) */
    private readonly expiredOf: (model: string) => void = () => {},
  ) {
    this.timer = new Periodic(() => this.sweep(), SWEEP_MS, (err, failures) => log.warn({ err, failures }, 'expiry sweep failed; retried at the next'));
  }

  start(): this {
    this.timer.start();
    return this;
  }

  /** Ends the queued jobs whose deadline has passed by `now`; resolves with how many this process expired. */
  async sweep(now = clusterNow()): Promise<number> {
    let expired = 0;
    for (const queueName of await this.redis.smembers(DEADLINE_QUEUES_KEY)) {
      const key = deadlinesKey(queueName);
      for (let call = 0; call < CALLS_A_SWEEP; call++) {
        // Past their deadline, not at it: a job reads as expired only once `now` is past it.
        const [looked, ...claimed] = (await this.redis.eval(DUE_DEADLINES_LUA, 1, key, now, PER_CALL, bullJobKey(queueName, ''), RECHECK_MS, CLAIM_MS)) as [number, ...string[]];
        for (const id of claimed) {
          try {
            if (await this.expire(queueName, id, now)) expired++;
            await this.redis.zrem(key, id);
          } catch (err) {
            this.log.warn({ err, queue: queueName, job: id }, 'could not expire a job at its deadline; the next sweep tries again');
          }
        }
        if (looked < PER_CALL) break;
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
    // Counted once: only the call whose script expired it gets here (a job already ended is 'not expired').
    this.expiredOf(versionOfQueue(queueName)?.model ?? queueName);
    return true;
  }

  close(): Promise<void> {
    return this.timer.stop();
  }
}
