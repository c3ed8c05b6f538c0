/**
 * One BullMQ Queue per served model version, created on first use, sharing one fail-fast
 * Redis connection (a request during a Redis outage gets a 503, not a hang) that is not
 * auto-pipelined (see PIPELINING in @maas/shared).
 * Queue depth is read at most once a second per queue for the 429 check.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { inferenceQueueName, PREFIX, type InferenceJobData, type InferenceJobResult } from '@maas/shared';

export type InferenceQueue = Queue<InferenceJobData, InferenceJobResult>;

const DEPTH_TTL_MS = 1000;
const QUEUED_STATES = ['waiting', 'prioritized', 'delayed'] as const;

export class QueueRegistry {
  private readonly queues = new Map<string, InferenceQueue>();
  private readonly depth = new Map<string, { at: number; value: number }>();

  constructor(private readonly connection: Redis) {}

  forVersion(model: string, version: number): InferenceQueue {
    return this.byName(inferenceQueueName(model, version));
  }

  byName(name: string): InferenceQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<InferenceJobData, InferenceJobResult>(name, { connection: this.connection, prefix: PREFIX });
      q.on('error', () => {}); // surfaced by the failing call
      this.queues.set(name, q);
    }
    return q;
  }

  /** Jobs waiting to run in a queue (cached for a second). */
  async queuedJobs(q: InferenceQueue): Promise<number> {
    const cached = this.depth.get(q.name);
    const now = Date.now();
    if (cached && now - cached.at < DEPTH_TTL_MS) return cached.value;
    const counts = await q.getJobCounts(...QUEUED_STATES);
    const value = QUEUED_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0);
    this.depth.set(q.name, { at: now, value });
    return value;
  }

  all(): InferenceQueue[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}
