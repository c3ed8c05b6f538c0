/**
 * StatsRecorder: Triton-style statistics (GET /v2/models/{m}/stats) kept in Redis, where every
 * worker adds to the same counters. It hears each job's end from the runner (`ending`: success
 * or failure, with its durations) and each ONNX run from the runner (`run`), so the execution
 * count and the batch sizes formed show. Additions are summed here and written as one MULTI
 * at most every FLUSH_MS (and at `close`), not awaited by the runner: statistics must never
 * slow or fail an inference; a failed write is logged and dropped.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { batchFields, msToNs, STAT, statsKey, type InferenceJobData, type Logger } from '@maas/shared';
import type { JobEnd } from '../ledger/endings.js';

/**
 * How long additions are summed before they are written. Once per event-loop turn was one
 * MULTI per ONNX run for a batch-file chunk (128 runs of 64 rows): 20 % of the worker's main
 * thread in a 200,000-row `.npy` batch (BENCHMARKS.md). Readers see counters this much late.
 */
export const FLUSH_MS = 100;

export class StatsRecorder {
  /** counters added since the last flush: key → field → amount */
  private pending = new Map<string, Map<string, number>>();
  /** key → the latest inference time seen since the last flush */
  private last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  ending(job: Job<InferenceJobData>, end: JobEnd): void {
    const key = statsKey(job.data.model, job.data.version);
    // A job may carry several v2 requests (packed by the API): Triton counts requests.
    const requests = job.data.requests ?? 1;
    const totalNs = msToNs(Date.now() - job.timestamp) * requests;
    if (end.state === 'completed') {
      const m = end.result.metrics;
      this.add(key, STAT.successCount, requests);
      this.add(key, STAT.successNs, totalNs);
      this.add(key, STAT.queueCount, requests);
      this.add(key, STAT.queueNs, msToNs(m.queue_ms + m.batch_wait_ms) * requests);
      this.add(key, STAT.inferCount, requests);
      this.add(key, STAT.inferNs, msToNs(m.inference_ms) * requests);
      this.add(key, STAT.inferenceCount, job.data.rows);
      this.last.set(key, Date.now());
    } else {
      this.add(key, STAT.failCount, requests);
      this.add(key, STAT.failNs, totalNs);
    }
  }

  /** One ONNX run of `rows` rows that took `ms`. */
  run(model: string, version: number, rows: number, ms: number): void {
    const key = statsKey(model, version);
    const f = batchFields(rows);
    this.add(key, STAT.executionCount, 1);
    this.add(key, f.count, 1);
    this.add(key, f.ns, msToNs(ms));
  }

  /** Counters are sums: the additions of FLUSH_MS (many runs and jobs) leave as one MULTI. */
  private add(key: string, field: string, n: number): void {
    let fields = this.pending.get(key);
    if (!fields) this.pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + n);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const [pending, last] = [this.pending, this.last];
    if (pending.size === 0 && last.size === 0) return Promise.resolve();
    this.pending = new Map();
    this.last = new Map();
    const tx = this.redis.multi();
    for (const [key, fields] of pending) for (const [field, n] of fields) tx.hincrby(key, field, n);
    for (const [key, at] of last) tx.hset(key, STAT.lastInference, at);
    return tx.exec().then(() => undefined, (err: unknown) => this.log.warn({ err }, 'statistics not recorded'));
  }

  /** Writes what is summed now (a worker stopping, once its runners drained). */
  close(): Promise<void> {
    return this.flush();
  }
}
