/**
 * The worker's Prometheus metrics. Each worker process keeps its own registry and publishes
 * it to Redis with its heartbeat; the API's /metrics merges them, so one scrape covers the
 * cluster however many worker machines there are.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_LOOP_SAMPLE_MS, LATENCY_BUCKETS_S } from '@maas/shared';

export function createWorkerMetrics(workerId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ role: 'worker' });
  collectDefaultMetrics({ register: registry, prefix: 'maas_worker_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const labelNames = ['model', 'version'] as const;
  return {
    registry,
    workerId,
    runRows: new Histogram({
      name: 'maas_run_rows',
      help: 'Rows per ONNX run (a micro-batch: rows of one or many jobs)',
      labelNames,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers: [registry],
    }),
    runJobs: new Histogram({
      name: 'maas_run_jobs',
      help: 'Jobs whose rows shared one ONNX run (a job the API packed counts each request it carries)',
      labelNames,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'maas_inference_seconds',
      help: 'Duration of one ONNX run',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    jobSeconds: new Histogram({
      name: 'maas_job_seconds',
      help: 'Job latency from creation to result (queue wait + batch wait + inference), once for each request a job carries; kind: request (v1 jobs, v2 and gRPC infers) or batch (a chunk of a batch file, which may wait minutes behind others: apart, so it never moves the requests\' quantiles)',
      labelNames: [...labelNames, 'kind'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'maas_jobs_processed_total',
      help: 'Jobs finished by workers, by outcome (a job the API packed counts each request it carries)',
      labelNames: [...labelNames, 'outcome'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'maas_job_failures_total',
      help: 'Jobs counted outcome="failed" in maas_jobs_processed_total, by the type of their error: inference-failed, worker-lost, internal, unavailable are the service\'s; invalid-input is the client\'s',
      labelNames: [...labelNames, 'type'],
      registers: [registry],
    }),
    sessionsLost: new Counter({
      name: 'maas_sessions_lost_total',
      help: 'Session threads that died or wedged (past WORKER_RUN_TIMEOUT_MS) and were replaced',
      labelNames,
      registers: [registry],
    }),
    redisDataResets: new Counter({
      name: 'maas_redis_data_resets_total',
      help: 'Times this process found Redis emptied, or restored from another copy or an older snapshot (its data epoch gone, another, or gone back); the log says which',
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'maas_webhook_attempts_total',
      help: 'Webhook delivery attempts, by result (delivered, retry, exhausted) and, for a failed one, reason (http_3xx, http_4xx, http_5xx, http_other, timeout, refused, network)',
      labelNames: ['result', 'reason'],
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
