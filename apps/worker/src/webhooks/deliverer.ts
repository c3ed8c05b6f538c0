/**
 * WebhookDeliverer: sends queued webhook events. Runs in every worker process, beside (never
 * inside) inference: its own BullMQ Worker and Redis connection, its own concurrency, and
 * attempts that only wait on sockets, so a slow or dead receiver holds a delivery slot, never
 * an inference run.
 *
 * Each attempt signs the stored body anew (same `webhook-id`, fresh `webhook-timestamp`) with
 * every live secret of the event's tenant (two while a secret rotates),
 * POSTs it, and appends the outcome to the event's history. A failure throws, and BullMQ
 * retries the job after the delay this module computed from the retry schedule and the
 * receiver's `Retry-After`; after the schedule's last retry the event is marked exhausted.
 * Delayed retries live in Redis, so restarts lose none; a delivery interrupted by a crash is
 * requeued by BullMQ's stall check and sent again (receivers dedupe on `webhook-id`).
 *
 * Order: an event queued before its job was settled (`settled_in`: job.completed) waits, put
 * back for a moment each time, until BullMQ has recorded the job's end.
 *
 * Fairness: one receiver (a tenant's URL origin) may have at most `perReceiver` attempts in
 * flight in this process, one host (an origin, all tenants) and one tenant (all its receivers)
 * at most half of the process's deliveries each. A delivery beyond any of them is put back (not counted as an attempt) for about as long as that
 * receiver's attempts take (receiver-slots.ts), so a dead receiver that holds every
 * connection until the timeout cannot delay everyone else's events, nor churn Redis.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, bullJobKey, bullmqConnectionOptions, createRedis, DEFAULT_TENANT, isClusterUrl,
  DeliveryStore, isRedisUnavailable, PREFIX, retryDelay, signedHeaders, throttledErrorLog, urlOrigin, WEBHOOK_QUEUE, type DeliveryJobData,
  type DeliveryStatus, type Logger, type TargetPolicy, type TenantSecrets,
} from '@maas/shared';
import { closeWorker } from '../liveness/closing-worker.js';
import { installLostFetches } from '../liveness/lost-fetches.js';
import { failedAttemptThrottle, failureReason, type FailureReason } from './attempt-failure.js';
import { postWebhook, type PostOutcome } from './post.js';
import { receivingHost, receiverOf, ReceiverSlots } from './receiver-slots.js';

export interface DelivererSettings {
  workerId: string;
  redisUrl: string;
  /** each tenant's signing secrets (read at every attempt, so a rotation applies at once) */
  secrets: Pick<TenantSecrets, 'keys'>;
  /** delays between attempts, in ms */
  schedule: readonly number[];
  timeoutMs: number;
  policy: TargetPolicy;
  concurrency: number;
  /** attempts in flight to one receiver (a tenant's URL origin) at most; default a fifth of `concurrency` */
  perReceiver?: number;
  /** BullMQ's stalled-job check; a delivery the dead-worker sweeper released runs again after the next one */
  stalledIntervalMs?: number;
}

/** The name under which worker `workerId` holds deliveries (BullMQ's processedBy; the dead-worker sweeper releases them). */
export const deliveryHolder = (workerId: string): string => `${workerId}:webhooks`;

/** A delivery whose job is not settled yet looks again this often, this many times... */
const SETTLE_POLL_MS = 5;
const SETTLE_POLLS = 4;
/** ...then waits this long in BullMQ's delayed set (its worker may have died: the job runs again elsewhere). */
const UNSETTLED_DELAY_MS = 250;
/**
 * A delivery whose reads before its POST (its job's ending, its tenant's secret) met a Redis that
 * cannot answer (a cluster master restarting: its slot's reads fail while the delivery queue's
 * master is up) waits this long and goes again, without spending an attempt: the receiver
 * was never asked. (It took the receiver's schedule: an outage of seconds put it 5 min back,
 * after its subject's later events.) A failure after the POST keeps the receiver's schedule:
 * going again sends the event again.
 */
const REDIS_RETRY_MS = 1000;

export type AttemptResult = 'delivered' | 'retry' | 'exhausted';

/** A failed attempt to retry, carrying the delay already recorded as `next_attempt_at`. */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError';
  constructor(message: string, readonly delayMs: number) {
    super(message);
  }
}

const isSuccess = (o: PostOutcome) => o.status !== null && o.status >= 200 && o.status < 300;
/** 410 Gone: the receiver says this URL is gone for good (as Svix and others read it): no retry. */
const isGone = (o: PostOutcome) => o.status === 410;
const reason = (o: PostOutcome) => o.error ?? (isGone(o) ? 'HTTP 410: the receiver says this URL is gone; not retried' : `HTTP ${o.status}`);

/** A slot in every share, or none (those taken given back) and the wait of the share that was full. */
function takeAll(shares: readonly [ReceiverSlots, string][]): { ok: true } | { ok: false; waitMs: number } {
  for (let i = 0; i < shares.length; i++) {
    const [share, key] = shares[i]!;
    const slot = share.acquire(key);
    if (!slot.ok) {
      for (const [taken, k] of shares.slice(0, i)) taken.giveBack(k);
      return slot;
    }
  }
  return { ok: true };
}

export class WebhookDeliverer {
  private readonly worker: Worker<DeliveryJobData>;
  private readonly connection: Redis;
  private readonly store: DeliveryStore;
  /** each receiver's share of the delivery slots (a receiver: a tenant's URL origin) */
  private readonly slots: ReceiverSlots;
  /** the hosts' shares (an origin, all tenants): a larger cap, so many tenants hanging on one host do not take every slot */
  private readonly hosts: ReceiverSlots;
  /** the tenants' shares (all their origins): a tenant's URLs on many hosts do not take every slot either */
  private readonly tenants: ReceiverSlots;
  /** failed attempts' lines, one per tenant and receiver origin a minute */
  private readonly failedLines = failedAttemptThrottle();

  constructor(
    private readonly settings: DelivererSettings,
    private readonly redis: Redis,
    private readonly log: Logger,
    /** each attempt's result; a failed one's reason too */
    private readonly onAttempt: (result: AttemptResult, reason?: FailureReason) => void = () => {},
  ) {
    this.store = new DeliveryStore(redis);
    this.slots = new ReceiverSlots({
      perReceiver: settings.perReceiver ?? Math.max(1, Math.floor(settings.concurrency / 5)),
      maxWaitMs: settings.timeoutMs,
    });
    const half = Math.max(1, Math.floor(settings.concurrency / 2));
    this.hosts = new ReceiverSlots({ perReceiver: half, maxWaitMs: settings.timeoutMs });
    this.tenants = new ReceiverSlots({ perReceiver: half, maxWaitMs: settings.timeoutMs });
    this.connection = createRedis(settings.redisUrl, bullmqConnectionOptions(`${settings.workerId}:webhooks`));
    this.connection.on('error', () => {}); // reported through the worker's 'error' event
    this.worker = new Worker<DeliveryJobData>(WEBHOOK_QUEUE, (job, token) => this.fairly(job, token), {
      connection: this.connection,
      prefix: PREFIX,
      concurrency: settings.concurrency,
      autorun: false,
      name: deliveryHolder(settings.workerId),
      ...(settings.stalledIntervalMs ? { stalledInterval: settings.stalledIntervalMs } : {}),
      // A crash mid-attempt only means sending again; never give up on an event for it.
      maxStalledCount: 10,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
          err instanceof DeliveryFailedError
            ? err.delayMs
            : // an unexpected error (e.g. Redis while recording an attempt, after its POST: going
              // again sends the event again): back off as a failed attempt would. Redis failing
              // before the POST never gets here (beforeSending: no attempt spent).
              retryDelay(this.settings.schedule, attemptsMade) ?? this.settings.schedule.at(-1) ?? 1000,
      },
    });
    this.worker.on('error', throttledErrorLog(this.log, 'webhook worker error'));
    // A delivery a fetch reply lost to a reset took goes back at once, not when its lock expires.
    installLostFetches(this.worker, this.connection, log, isClusterUrl(settings.redisUrl));
  }

  start(): void {
    void this.worker.run().catch((err: unknown) => this.log.error({ err }, 'webhook worker loop ended'));
  }

  /** Stops fetching and lets attempts in flight finish (each is bounded by the timeout). */
  async close(): Promise<void> {
    await closeWorker(this.worker);
    this.connection.disconnect();
  }

  /**
   * Runs `deliver` once the event's job is settled and within the receiver's share of slots;
   * otherwise puts the delivery back for a moment, which is not an attempt.
   */
  private async fairly(job: Job<DeliveryJobData>, token?: string): Promise<void> {
    const settled = job.data.settled_in && token ? await this.beforeSending(job, token, () => this.settledSoon(job.data.settled_in!, job.data.subject)) : true;
    if (!settled && token) {
      await job.moveToDelayed(Date.now() + UNSETTLED_DELAY_MS, token);
      throw new DelayedError();
    }
    const tenant = job.data.tenant ?? DEFAULT_TENANT;
    // A slot in each share, or none: the receiver's (a tenant's origin), the tenant's, the host's.
    const shares: [ReceiverSlots, string][] = [[this.slots, receiverOf(job.data.url, tenant)], [this.tenants, tenant], [this.hosts, receivingHost(job.data.url)]];
    const slot = takeAll(shares);
    if (!slot.ok && token) {
      await job.moveToDelayed(Date.now() + slot.waitMs + Math.floor(Math.random() * slot.waitMs * 0.25), token);
      throw new DelayedError();
    }
    const started = Date.now();
    try {
      await this.deliver(job, token);
    } finally {
      if (slot.ok) for (const [share, key] of shares) share.release(key, Date.now() - started);
    }
  }

  /**
   * True when the job is settled now or within a few milliseconds: it usually is, its worker
   * records the end right after queueing the event, and waiting here is cheaper than a trip
   * through BullMQ's delayed set.
   */
  private async settledSoon(queueName: string, jobId: string): Promise<boolean> {
    for (let i = 0; i < SETTLE_POLLS; i++) {
      if (await this.settled(queueName, jobId)) return true;
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
    return this.settled(queueName, jobId);
  }

  /** True once BullMQ has recorded the job's end (or the job is gone). */
  private async settled(queueName: string, jobId: string): Promise<boolean> {
    const [created, finished] = await this.redis.hmget(bullJobKey(queueName, jobId), 'timestamp', 'finishedOn');
    return created === null || finished !== null;
  }

  /**
   * `read` (what a delivery reads before its POST); when Redis cannot answer it, the delivery
   * goes back to the delayed set for REDIS_RETRY_MS without spending an attempt (DelayedError).
   */
  private async beforeSending<T>(job: Job<DeliveryJobData>, token: string | undefined, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (!token || !isRedisUnavailable(err)) throw err;
      await job.moveToDelayed(Date.now() + REDIS_RETRY_MS, token); // the delivery queue's own Redis: if it fails too, the attempt fails as any error does
      this.log.debug({ err, webhook_id: job.data.msg_id }, 'webhook delivery put back: Redis did not answer before its POST');
      throw new DelayedError();
    }
  }

  private async deliver(job: Job<DeliveryJobData>, token?: string): Promise<void> {
    const d = job.data;
    if (job.name !== d.type || d.v !== 1) throw new UnrecoverableError(`unknown delivery payload for ${job.id}`);
    const attempt = job.attemptsMade + 1;
    const at = clusterNow(); // the signature's timestamp: receivers judge it against their clocks
    const keys = await this.beforeSending(job, token, () => this.settings.secrets.keys(d.tenant ?? DEFAULT_TENANT));
    const outcome = await postWebhook(d.url, d.body, { ...signedHeaders(keys, d.msg_id, d.body, at) }, {
      timeoutMs: this.settings.timeoutMs,
      policy: this.settings.policy,
    });
    const ok = isSuccess(outcome);
    const delay = ok || isGone(outcome) ? null : retryDelay(this.settings.schedule, attempt, { retryAfterMs: outcome.retryAfterMs });
    const status: DeliveryStatus = ok ? 'delivered' : delay === null ? 'exhausted' : 'pending';
    const next_attempt_at = delay === null ? null : new Date(clusterNow() + delay).toISOString();
    await this.store.recordAttempt(
      d.subject,
      d.msg_id,
      {
        at: new Date(at).toISOString(),
        attempt,
        status: outcome.status,
        duration_ms: outcome.durationMs,
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.excerpt ? { response_excerpt: outcome.excerpt } : {}),
      },
      { status, next_attempt_at },
      d.keep_s,
    );
    if (ok) {
      this.onAttempt('delivered');
      this.log.debug({ webhook_id: d.msg_id, event: d.type, attempt, ms: outcome.durationMs }, 'webhook delivered');
      return;
    }
    // Who an on-call greps for: the event, its job or batch, the tenant, the receiver (its origin only: a URL's path or query may hold a token).
    const ctx = {
      webhook_id: d.msg_id, event: d.type, [d.type.startsWith('batch.') ? 'batch_id' : 'job_id']: d.subject, tenant: d.tenant ?? DEFAULT_TENANT,
      origin: urlOrigin(d.url) ?? '(unparsable)', attempt, status: outcome.status, ms: outcome.durationMs,
    };
    const why = failureReason(outcome);
    if (delay === null) {
      this.onAttempt('exhausted', why);
      this.log.warn({ ...ctx, reason: why, error: reason(outcome) }, 'webhook delivery exhausted');
      throw new UnrecoverableError(`exhausted after ${attempt} attempts: ${reason(outcome)}`);
    }
    this.onAttempt('retry', why);
    const shown = this.failedLines.pass(`${ctx.tenant} ${ctx.origin}`); // a shared receiver host hides no tenant's failures
    if (shown) this.log.warn({ ...ctx, reason: why, error: reason(outcome), next_attempt_at, ...shown }, 'webhook attempt failed; retried later (one line per tenant and receiver a minute: repeats counts those not logged)');
    else this.log.debug({ ...ctx, reason: why, error: reason(outcome), next_attempt_at }, 'webhook attempt failed');
    throw new DeliveryFailedError(reason(outcome), delay);
  }
}
