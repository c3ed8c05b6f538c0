/**
 * StatsRecorder: Triton-style statistics (GET /v2/models/{m}/stats) kept in Redis, where every
 * worker adds to the same counters. It hears each job's end from the runner (`ending`: success
 * or failure, with its durations) and each ONNX run from the runner (`run`), so the execution
 * count and the run sizes formed (Triton's batch statistics) show. Written through a StatsWriter (shared): summed, one
 * MULTI at most every 100 ms, not awaited by the runner.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { clusterNow, batchFields, msToNs, STAT, statsKey, StatsWriter, type InferenceJobData, type Logger } from '@maas/shared';
import type { JobEnd } from '../ledger/endings.js';
import { failedRequests, requestsOf } from '../ledger/requests.js';

export class StatsRecorder {
  private readonly writer: StatsWriter;

  constructor(redis: Redis, log: Logger) {
    this.writer = new StatsWriter(redis, log);
  }

  ending(job: Job<InferenceJobData>, end: JobEnd): void {
    const key = statsKey(job.data.model, job.data.version);
    // A job may carry several v2 requests or /v1/jobs members (packed by the API): Triton counts requests.
    let requests = requestsOf(job.data);
    const w = this.writer;
    if (end.state === 'completed') {
      // Members that failed alone (their rows failed their run) count as failed, as in maas_jobs_processed_total.
      const failedAlone = Object.keys(end.result.memberErrors ?? {}).length;
      if (failedAlone > 0) {
        w.add(key, STAT.failCount, failedAlone);
        w.add(key, STAT.failNs, msToNs(clusterNow() - job.timestamp) * failedAlone);
        requests -= failedAlone;
        if (requests <= 0) return;
      }
      const totalNs = msToNs(clusterNow() - job.timestamp) * requests;
      const m = end.result.metrics;
      w.add(key, STAT.successCount, requests);
      w.add(key, STAT.successNs, totalNs);
      w.add(key, STAT.queueCount, requests);
      w.add(key, STAT.queueNs, msToNs(m.queue_ms + m.batch_wait_ms) * requests);
      w.add(key, STAT.inferCount, requests);
      w.add(key, STAT.inferNs, msToNs(m.inference_ms) * requests);
      w.add(key, STAT.inferenceCount, job.data.rows);
      w.inferredAt(key, clusterNow());
    } else {
      const failed = failedRequests(job.data, end);
      if (failed === 0) return;
      w.add(key, STAT.failCount, failed);
      w.add(key, STAT.failNs, msToNs(clusterNow() - job.timestamp) * failed);
    }
  }

  /** One ONNX run of `rows` rows that took `ms`. */
  run(model: string, version: number, rows: number, ms: number): void {
    const key = statsKey(model, version);
    const f = batchFields(rows);
    this.writer.add(key, STAT.executionCount, 1);
    this.writer.add(key, f.count, 1);
    this.writer.add(key, f.ns, msToNs(ms));
  }

  /** Writes what is summed now (a worker stopping, once its runners drained). */
  close(): Promise<void> {
    return this.writer.close();
  }
}
