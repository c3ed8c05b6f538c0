/**
 * WebhookService: what the API offers about webhooks — the caller's own signing secret and its
 * rotation, a job's delivery
 * history, and redelivery of one of its events. Sending is the workers' (WebhookDeliverer).
 *
 * Access goes through JobService.get / BatchService.get, so another tenant's job or batch is
 * a 404 here too.
 */
import { Job } from 'bullmq';
import {
  MESSAGE_ID, NotFoundError, type DeliveryJobData, type DeliveryRecord, type SecretRing, type TenantSecrets, type WebhookEmitter,
} from '@maas/shared';
import type { BatchService } from './batches.js';
import type { JobService } from './jobs.js';

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

  /** Throws NotFoundError unless `subject` (a job or batch id) belongs to `tenant`. */
  private async authorize(tenant: string, subject: string): Promise<void> {
    if (subject.startsWith('batch_')) await this.batches.get(tenant, subject);
    else await this.jobs.get(tenant, subject);
  }

  /** Every event of a job (or batch) with its attempts, oldest first. */
  async list(tenant: string, jobId: string): Promise<DeliveryRecord[]> {
    await this.authorize(tenant, jobId);
    return this.emitter.store.list(jobId);
  }

  /**
   * Sends an event again: same `webhook-id`, same body, a new series of attempts on the retry
   * schedule. A delivery still waiting for its next retry is tried at once instead; one being
   * attempted right now is left to finish.
   */
  async redeliver(tenant: string, jobId: string, msgId: string): Promise<DeliveryRecord> {
    await this.authorize(tenant, jobId);
    const notFound = new NotFoundError('webhook event', msgId);
    if (!MESSAGE_ID.test(msgId) || !(await this.emitter.store.get(jobId, msgId))) throw notFound;
    const job = await Job.fromId<DeliveryJobData>(this.emitter.queue, msgId);
    if (!job || job.data.subject !== jobId) throw notFound; // its retention has passed
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      // Mark first: the new series' first attempt must land after this, not be overwritten by it.
      await this.emitter.store.redelivering(jobId, msgId, job.data.keep_s);
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    } else if (state === 'delayed') {
      await job.promote();
    }
    return (await this.emitter.store.get(jobId, msgId)) ?? Promise.reject(notFound);
  }
}

/** `GET /v1/webhooks/secret`: the current secret, and those still signing beside it. */
export interface SecretView {
  object: 'webhook_secret';
  secret: string;
  created_at: string | null;
  previous: { secret: string; expires_at: string }[];
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
    previous: ring.previous.map((p) => ({ secret: p.secret, expires_at: new Date(p.expires_at).toISOString() })),
    overlap_seconds: Math.round(overlapMs / 1000),
    source: ring.source === 'config' ? 'config' : 'generated',
  };
}
