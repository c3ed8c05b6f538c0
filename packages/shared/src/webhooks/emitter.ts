/**
 * WebhookEmitter: turns an event into a durable delivery — a record in the DeliveryStore and
 * one job on the delivery queue, whose jobId is the event's `webhook-id` (so an event emitted
 * twice is queued once). Used by the OutboxRelay (ledger/relay.ts), which relays the events the
 * ledger recorded with each ending, in workers and the API;
 * the workers' WebhookDeliverer sends it. Nothing here waits for a receiver.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PREFIX, WEBHOOK_QUEUE } from '../queues.js';
import { eventBody, messageId, type DeliveryJobData, type WebhookEventInput } from './events.js';
import { DeliveryStore } from './store.js';

/**
 * BullMQ's attempt budget for a delivery. The deliverer ends a delivery itself when its retry
 * schedule is used up (the schedule is its configuration); this only has to be larger.
 */
export const DELIVERY_MAX_ATTEMPTS = 1000;
/** The custom backoff the deliverer implements (schedule, jitter, Retry-After). */
export const DELIVERY_BACKOFF = 'webhook-schedule';

export type DeliveryQueue = Queue<DeliveryJobData>;

export function deliveryQueue(connection: Redis): DeliveryQueue {
  const q = new Queue<DeliveryJobData>(WEBHOOK_QUEUE, { connection, prefix: PREFIX });
  q.on('error', () => {}); // surfaced by the failing call
  return q;
}

export class WebhookEmitter {
  readonly queue: DeliveryQueue;
  readonly store: DeliveryStore;

  /** `keepSeconds`: how long deliveries and their history stay readable (the job retention). */
  constructor(connection: Redis, readonly keepSeconds: number) {
    this.queue = deliveryQueue(connection);
    this.store = new DeliveryStore(connection);
  }

  /** Queues `e` for delivery; resolves with its `webhook-id` once it is durable in Redis. */
  async emit(e: WebhookEventInput): Promise<string> {
    const id = messageId(e.subject, e.type);
    // The record first: the deliverer appends attempts to it.
    await this.store.create(e.subject, { id, type: e.type, url: e.url }, this.keepSeconds);
    const data: DeliveryJobData = {
      v: 1, msg_id: id, tenant: e.tenant, subject: e.subject, type: e.type, url: e.url, body: eventBody(e), keep_s: this.keepSeconds,
      ...(e.settledIn ? { settled_in: e.settledIn } : {}),
    };
    await this.queue.add(e.type, data, {
      jobId: id,
      attempts: DELIVERY_MAX_ATTEMPTS,
      backoff: { type: DELIVERY_BACKOFF },
      removeOnComplete: { age: this.keepSeconds },
      removeOnFail: { age: this.keepSeconds },
    });
    return id;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
