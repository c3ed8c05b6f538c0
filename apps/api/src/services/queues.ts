/**
 * One BullMQ Queue per served model version, created on first use, sharing one fail-fast
 * Redis connection (a request during a Redis outage gets a 503, not a hang). Made without BullMQ's Redis version check:
 * its INFO is sent once, when a queue is made, and a failure of it (an INFO past the API's
 * command timeout, Redis silent for 5 s) would fail every later call of that queue for good.
 * Queue depth for the 429 check is read at most once a second per queue, and ahead of time: a
 * value past half its age is refreshed in the background while requests go on using it, so
 * under steady traffic no request waits for that read.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { inferenceQueueName, PREFIX, type InferenceJobData, type InferenceJobResult } from '@maas/shared';

export type InferenceQueue = Queue<InferenceJobData, InferenceJobResult>;

const DEPTH_TTL_MS = 1000;
const QUEUED_STATES = ['waiting', 'prioritized', 'delayed'] as const;

/** A queue's depth as read, and when the read began (jobs queued since may be missing from it). */
export interface DepthReading {
  value: number;
  /** ms since the epoch */
  at: number;
}

export class QueueRegistry {
  private readonly queues = new Map<string, InferenceQueue>();
  /** queues made only to be read (`readOnly`) */
  private readonly readers = new Map<string, InferenceQueue>();
  private readonly depth = new Map<string, DepthReading & { refreshing?: Promise<DepthReading> }>();

  /**
   * @param connection the one connection every queue here uses (BullMQ shares an instance it is
   *   given): a command sent on it before a queue call reaches Redis before that call's commands.
   */
  constructor(readonly connection: Redis) {}

  forVersion(model: string, version: number): InferenceQueue {
    return this.byName(inferenceQueueName(model, version));
  }

  byName(name: string): InferenceQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<InferenceJobData, InferenceJobResult>(name, { connection: this.connection, prefix: PREFIX, skipVersionCheck: true });
      q.on('error', () => {}); // surfaced by the failing call
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * A queue only read (the queue board, the status page), never written through: made without
   * writing its meta, as a version no longer served must stay untouched, and kept apart from
   * `all()` (the queues this process writes to).
   */
  readOnly(name: string): InferenceQueue {
    let q = this.queues.get(name) ?? this.readers.get(name);
    if (!q) {
      q = new Queue<InferenceJobData, InferenceJobResult>(name, { connection: this.connection, prefix: PREFIX, skipMetasUpdate: true, skipVersionCheck: true });
      q.on('error', () => {});
      this.readers.set(name, q);
    }
    return q;
  }

  /** Jobs waiting to run in a queue (a reading at most a second old, and when it was taken). */
  async queuedJobs(q: InferenceQueue): Promise<DepthReading> {
    const cached = this.depth.get(q.name);
    const age = cached ? Date.now() - cached.at : Infinity;
    // A reading from the future (the clock stepped back) is read again: an upload counts its
    // own chunks from the reading's time (services/batches.ts), and would count none.
    if (cached && age >= 0 && age < DEPTH_TTL_MS) {
      if (age >= DEPTH_TTL_MS / 2 && !cached.refreshing) {
        cached.refreshing = this.readDepth(q);
        cached.refreshing.catch(() => (cached.refreshing = undefined)); // tried again by the next request
      }
      return cached;
    }
    return cached?.refreshing ?? this.readDepth(q);
  }

  private async readDepth(q: InferenceQueue): Promise<DepthReading> {
    const at = Date.now();
    const counts = await q.getJobCounts(...QUEUED_STATES);
    const reading = { at, value: QUEUED_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0) };
    this.depth.set(q.name, reading);
    return reading;
  }

  all(): InferenceQueue[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.all(), ...this.readers.values()].map((q) => q.close()));
  }
}
