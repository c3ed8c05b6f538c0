/**
 * The webhook deliveries a worker has to make now or soon: what an autoscaler must count beside
 * inference jobs, since only workers send webhooks (the API's `maas_webhook_backlog`, which
 * deploy/k8s/keda.yaml scales on). Counted: deliveries queued or being sent; retries due within
 * `soonMs` (a retry due in six hours does not keep a worker up meanwhile, only once it is that
 * close); and events recorded with an ending and not yet queued for delivery (the outboxes).
 * A retry's due time is its BullMQ delayed score (ms × 0x1000, BullMQ's getDelayedScore), on the
 * clock of the host that scheduled it (BullMQ's, not the cluster's): `now` is this host's.
 */
import type { Redis } from 'ioredis';
import { OUTBOX_SLOTS_KEY, outboxKeys } from '../queues.js';
import type { DeliveryQueue } from './emitter.js';

export const WEBHOOK_BACKLOG_SOON_MS = 60_000;

export async function webhookBacklog(redis: Redis, queue: DeliveryQueue, now = Date.now(), soonMs = WEBHOOK_BACKLOG_SOON_MS): Promise<number> {
  const [counts, retriesSoon, slots] = await Promise.all([
    queue.getJobCounts('waiting', 'prioritized', 'active'),
    redis.zcount(queue.keys.delayed!, 0, (now + soonMs + 1) * 0x1000 - 1),
    redis.smembers(OUTBOX_SLOTS_KEY),
  ]);
  // One slot a command: under a Redis Cluster the outboxes sit in different hash slots.
  const unrelayed = await Promise.all(slots.map((slot) => redis.zcard(outboxKeys(slot).due)));
  return Object.values(counts).reduce((n, c) => n + c, 0) + retriesSoon + unrelayed.reduce((n, c) => n + c, 0);
}
