/**
 * WebhookService: what the API offers about webhooks — the caller's own signing secret and its
 * rotation, a job's delivery
 * history, and redelivery of one of its events. Sending is the workers' (WebhookDeliverer).
 *
 * Access goes through JobService.get / BatchService.get, so another tenant's job or batch is
 * a 404 here too.
 */
import { ErrorCode, Job } from 'bullmq';
import {
  MESSAGE_ID, NotFoundError, type DeliveryJobData, type DeliveryRecord, type SecretRing, type TenantSecrets, type WebhookEmitter,
} from '@maas/shared';
import type { BatchService } from './batches.js';
import type { JobService } from './jobs.js';

/** What a webhook history belongs to: the route it is read under says. */
export type WebhookSubject = 'job' | 'batch';

export class WebhookService {
  constructor(
    private readonly jobs: JobService,
    private readonly batches: BatchService,
    private readonly emitter: WebhookEmitter,
    /** each tenant's own `whsec_…` secrets */
    private readonly secrets: TenantSecrets,
  ) {}

  /** The tenant's signing secret (its first is generated now if it has none). */
  async secret(tenant: string): Promise<SecretView> {
    return secretView(await this.secrets.ring(tenant), this.secrets.overlapMs);
  }

  /** Starts a new secret; the old one keeps signing beside it for the overlap. */
  async rotate(tenant: string): Promise<SecretView> {
    return secretView(await this.secrets.rotate(tenant), this.secrets.overlapMs);
  }

  /**
   * Throws NotFoundError unless `subject` is a job (or a batch, as `kind` says: a batch's id
   * under `/v1/jobs` is no job) of `tenant`'s.
   */
  private async authorize(tenant: string, kind: WebhookSubject, subject: string): Promise<void> {
    if (kind === 'batch') await this.batches.get(tenant, subject);
    else await this.jobs.get(tenant, subject);
  }

  /** Every event of a job (or batch) with its attempts, oldest first. */
  async list(tenant: string, kind: WebhookSubject, jobId: string): Promise<DeliveryRecord[]> {
    await this.authorize(tenant, kind, jobId);
    return this.emitter.store.list(jobId);
  }

  /**
   * Sends an event again: same `webhook-id`, same body, a new series of attempts on the retry
   * schedule. A delivery still waiting for its next retry is tried at once instead; one being
   * attempted right now, or whose new series is queued, is left to go on. Calls on one event
   * within REDELIVERY_JOIN_MS of the one that claimed it (concurrent calls, a double click) join
   * that one: each answers with the event as it stands once the claimer is done, and one series
   * is sent and counted in `redeliveries`.
   */
  async redeliver(tenant: string, kind: WebhookSubject, jobId: string, msgId: string): Promise<DeliveryRecord> {
    await this.authorize(tenant, kind, jobId);
    const notFound = new NotFoundError('webhook event', msgId);
    const store = this.emitter.store;
    if (!MESSAGE_ID.test(msgId) || !(await store.get(jobId, msgId))) throw notFound;
    const job = await Job.fromId<DeliveryJobData>(this.emitter.queue, msgId);
    if (!job || job.data.subject !== jobId) throw notFound; // its retention has passed
    if (await store.claimRedelivery(jobId, msgId, REDELIVERY_JOIN_MS)) {
      try {
        await this.sendAgain(job, notFound);
      } catch (err) {
        await store.releaseRedelivery(jobId, msgId).catch(() => {});
        throw err;
      }
      await store.redeliveryDone(jobId, msgId);
    } else {
      await this.joined(jobId, msgId);
    }
    return (await store.get(jobId, msgId)) ?? Promise.reject(notFound);
  }

  /** The claimer's part: a finished delivery gets a new series, a delayed retry is due now. */
  private async sendAgain(job: Job<DeliveryJobData>, notFound: NotFoundError): Promise<void> {
    const { subject, msg_id: msgId, keep_s: keepS } = job.data;
    const state = await job.getState();
    try {
      if (state === 'completed' || state === 'failed') {
        const last = await this.emitter.store.lastAttempt(subject, msgId);
        // BullMQ's move back to wait is atomic: it fails (not in that state) rather than run twice.
        await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
        // Counted once queued; the pending mark yields to the series' first attempt if it came first.
        await this.emitter.store.redelivered(subject, msgId, last, keepS);
      } else if (state === 'delayed') {
        await job.promote();
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === ErrorCode.JobNotExist) throw notFound; // removed meanwhile (retention)
      // Moved meanwhile (its delay passed, or a call whose claim had expired restarted it): it is under way.
      if (code !== ErrorCode.JobNotInState) throw err;
    }
  }

  /** Waits (bounded) until the call that claimed the redelivery is done with it. */
  private async joined(jobId: string, msgId: string): Promise<void> {
    for (let waited = 0; waited < REDELIVERY_JOIN_MS; waited += JOIN_POLL_MS) {
      if (!(await this.emitter.store.redeliveryUnderWay(jobId, msgId))) return;
      await new Promise((r) => setTimeout(r, JOIN_POLL_MS));
    }
  }
}

/** Calls on one event this long after one that claimed its redelivery join it (no second series). */
export const REDELIVERY_JOIN_MS = 1000;
const JOIN_POLL_MS = 10;

/** `GET /v1/webhooks/secret`: the current secret, and those still signing beside it. */
export interface SecretView {
  object: 'webhook_secret';
  secret: string;
  created_at: string | null;
  /** `expires_at` null: set by WEBHOOK_SECRET, signing until taken out of it */
  previous: { secret: string; expires_at: string | null }[];
  overlap_seconds: number;
  /** `config`: WEBHOOK_SECRET (rotate it there); `generated`: kept in Redis, rotatable here */
  source: 'config' | 'generated';
}

/** PURE: a ring as the API shows it. */
export function secretView(ring: SecretRing & { source: 'config' | 'redis' }, overlapMs: number): SecretView {
  return {
    object: 'webhook_secret',
    secret: ring.current.secret,
    created_at: ring.current.created_at ? new Date(ring.current.created_at).toISOString() : null,
    previous: ring.previous.map((p) => ({ secret: p.secret, expires_at: Number.isFinite(p.expires_at) ? new Date(p.expires_at).toISOString() : null })),
    overlap_seconds: Math.round(overlapMs / 1000),
    source: ring.source === 'config' ? 'config' : 'generated',
  };
}
