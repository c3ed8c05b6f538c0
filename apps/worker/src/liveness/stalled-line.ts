/**
 * The line for a job BullMQ's stall check put back in its queue (its worker died or froze past
 * the lock): which job, and which worker held it (BullMQ's `processedBy`, read at once: the
 * job's next worker overwrites it when it takes the job, which a busy queue may already have
 * done, so `dead_worker` can then name that one). A failure path: one Redis read a stalled job.
 */
import type { Redis } from 'ioredis';
import { bullJobKey, type Logger } from '@maas/shared';

export function logStalled(redis: Redis, queueName: string, jobId: string, log: Logger): void {
  const line = (dead_worker: string | null) => log.warn({ job_id: jobId, dead_worker }, 'job stalled (its worker stopped); requeued');
  redis.hget(bullJobKey(queueName, jobId), 'pb').then(line, () => line(null));
}
