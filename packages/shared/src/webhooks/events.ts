/**
 * PURE: webhook events (CONTRACT §5) — what is sent, under which `webhook-id`, with which body.
 *
 * An event's id is derived from its subject and type (`job_x` + `job.completed` → `msg_…`),
 * so emitting the same event twice (a job re-run after a stall, a cancel racing a worker)
 * enqueues it once: the id is the delivery queue's jobId. It is also the `webhook-id` header,
 * the same for every retry and redelivery.
 */
import { createHash } from 'node:crypto';
import type { BatchObject } from '../contract/batch.js';
import type { JobObject, WebhookEvent } from '../contract/job.js';
import { exactJson } from '../tensors/exact-integers.js';
import { clusterNow } from '../cluster-clock.js';

export const WEBHOOK_EVENT_TYPES = ['job.start', 'job.completed', 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The public object each event carries (batches plug their object in here). */
export interface WebhookEventData {
  'job.start': JobObject;
  'job.completed': JobObject;
  'batch.completed': BatchObject;
}

/** One event to deliver. `subject` is the job or batch id; history is kept per subject. */
export interface WebhookEventInput<T extends WebhookEventType = WebhookEventType> {
  type: T;
  /** whose event it is: signed with that tenant's secret(s) */
  tenant: string;
  subject: string;
  url: string;
  data: WebhookEventData[T];
  /** when it happened (epoch ms); default now */
  occurredAt?: number;
  /**
   * The BullMQ queue of the subject job, when the event is queued before that job is settled
   * (job.completed, see apps/worker/src/ledger/jobs.ts): delivery waits until the job
   * has finished, so a receiver that reads the job on receipt sees its final state.
   */
  settledIn?: string;
}

/** What a delivery job holds in Redis: everything needed to (re)send it byte for byte. */
export interface DeliveryJobData {
  v: 1;
  msg_id: string;
  /** the tenant whose secrets sign it; absent in deliveries queued before tenants had secrets (→ DEFAULT_TENANT) */
  tenant?: string;
  subject: string;
  type: WebhookEventType;
  url: string;
  /** the exact JSON body, serialised once so every attempt signs and sends the same bytes */
  body: string;
  /** seconds the history is kept after its last change */
  keep_s: number;
  /** see WebhookEventInput.settledIn */
  settled_in?: string;
}

export const MESSAGE_ID = /^msg_[A-Za-z0-9_-]{1,64}$/;

/** The stable `webhook-id` of an event. */
export function messageId(subject: string, type: WebhookEventType): string {
  return `msg_${createHash('sha256').update(`${subject}\n${type}`).digest('base64url').slice(0, 24)}`;
}

/** The body: `{"type", "timestamp", "data"}` (CONTRACT §5); a job's INT64/UINT64 outputs exact (exact-integers.ts). */
export function eventBody(e: WebhookEventInput): string {
  return exactJson(JSON.stringify({ type: e.type, timestamp: new Date(e.occurredAt ?? clusterNow()).toISOString(), data: e.data }));
}

const JOB_EVENT_TYPE = { start: 'job.start', completed: 'job.completed' } as const satisfies Record<WebhookEvent, WebhookEventType>;

/**
 * The event to emit for `job` reaching `kind`, or null when the job has no webhook or its
 * `webhook_events_filter` leaves this kind out.
 */
export function jobWebhookEvent(kind: WebhookEvent, job: JobObject, tenant: string, occurredAt?: number): WebhookEventInput | null {
  if (!job.webhook) return null;
  if (job.webhook_events_filter && !job.webhook_events_filter.includes(kind)) return null;
  return { type: JOB_EVENT_TYPE[kind], tenant, subject: job.id, url: job.webhook, data: job, ...(occurredAt ? { occurredAt } : {}) };
}

/** The `batch.completed` event of a finished batch, or null when it has no webhook. */
export function batchWebhookEvent(batch: BatchObject, tenant: string): WebhookEventInput | null {
  if (!batch.webhook) return null;
  return { type: 'batch.completed', tenant, subject: batch.id, url: batch.webhook, data: batch };
}
