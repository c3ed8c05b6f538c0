/**
 * StatsRecorder: Triton-style statistics (GET /v2/models/{m}/stats) kept in Redis, where every
 * worker adds to the same counters. It hears each job's end as a JobObserver (success or
 * failure, with its durations) and each ONNX run from the runner (`run`), so the execution
 * count and the batch sizes formed show. Writes are pipelined and not awaited by the runner:
 * statistics must never slow or fail an inference; a failed write is logged and dropped.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { batchFields, msToNs, STAT, statsKey, type InferenceJobData, type Logger } from '@maas/shared';
import type { JobEnd, JobObserver } from '../webhooks/job-events.js';

export class StatsRecorder implements JobObserver {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  active(): void {}

  failed(): void {}

  ending(job: Job<InferenceJobData>, end: JobEnd): Promise<void> {
    const key = statsKey(job.data.model, job.data.version);
    const totalNs = msToNs(Date.now() - job.timestamp);
    const tx = this.redis.multi();
    if (end.state === 'completed') {
      const m = end.result.metrics;
      tx.hincrby(key, STAT.successCount, 1).hincrby(key, STAT.successNs, totalNs)
        .hincrby(key, STAT.queueCount, 1).hincrby(key, STAT.queueNs, msToNs(m.queue_ms + m.batch_wait_ms))
        .hincrby(key, STAT.inferCount, 1).hincrby(key, STAT.inferNs, msToNs(m.inference_ms))
        .hincrby(key, STAT.inferenceCount, job.data.rows)
        .hset(key, STAT.lastInference, Date.now());
    } else {
      tx.hincrby(key, STAT.failCount, 1).hincrby(key, STAT.failNs, totalNs);
    }
    this.write(tx);
    return Promise.resolve();
  }

  /** One ONNX run of `rows` rows that took `ms`. */
  run(model: string, version: number, rows: number, ms: number): void {
    const key = statsKey(model, version);
    const f = batchFields(rows);
    this.write(this.redis.multi().hincrby(key, STAT.executionCount, 1).hincrby(key, f.count, 1).hincrby(key, f.ns, msToNs(ms)));
  }

  private write(tx: ReturnType<Redis['multi']>): void {
    tx.exec().catch((err: unknown) => this.log.warn({ err }, 'statistics not recorded'));
  }
}
