/**
 * `GET /metrics`: the API's own metrics (HTTP, queue depth read at scrape time) and the metrics
 * every live worker publishes in its heartbeat, each worker's series labeled `worker` with its
 * id, so one scrape of any API instance covers the cluster. Labeled, a worker's counters never
 * go down: when it dies its series end (Prometheus's staleness) instead of being subtracted
 * from a sum, which `rate()` would read as a counter reset. Every API instance shows every
 * worker's series: scrape one, or de-duplicate by `worker`. Queue depth and the two backlogs an
 * autoscaler reads (inference jobs; webhook deliveries, which only workers send) are read here
 * only. While Redis is unreachable the scrape still answers, with the API's own metrics and
 * `maas_redis_up` 0 (queue depth, the backlogs and the workers' series need Redis).
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { answeredWithin, clusterNow, EVENT_LOOP_SAMPLE_MS, hasVersionFile, LATENCY_BUCKETS_S, forExposition, inferenceQueueName, isRedisUnavailable, queueJobCounts, webhookBacklog, type DeliveryQueue, type Logger, type MetricsJson } from '@maas/shared';
import type { ModelCatalog } from './services/catalog.js';
import type { QueueRegistry } from './services/queues.js';
import type { ProblemAnswered } from './http/problem.js';
import { refusalOf } from './http/refusals.js';
import { oldestQueuedAt, queuedSeconds } from './services/oldest-queued.js';
import { servingWorkers, type LiveWorker, type WorkerDirectory } from './services/workers.js';
import { unservedQueues } from './services/unserved-queues.js';

/** What one of this process's in-memory caches holds now (see `maas_api_cache_entries`). */
export interface CacheSize {
  cache: string;
  entries: number;
  /** for caches bounded by bytes too */
  bytes?: number;
}

/**
 * `waiting`: how many requests this process holds waiting for a job or batch to end
 * (JobNotifier); `caches`: what its caches hold, read at scrape time.
 */
export function createApiMetrics(waiting: () => number = () => 0, caches: () => CacheSize[] = () => []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'maas_api_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return {
    registry,
    http: new Histogram({
      name: 'maas_http_request_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    }),
    grpc: new Histogram({
      name: 'maas_grpc_request_seconds',
      help: 'gRPC calls by method and status code name, from their start to their status (a stream: its whole life)',
      labelNames: ['method', 'code'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    }),
    droppedConnections: new Counter({
      name: 'maas_http_connections_dropped_total',
      help: 'HTTP connections closed at once because MAX_CONNECTIONS were open',
      registers: [registry],
    }),
    droppedGrpcConnections: new Counter({
      name: 'maas_grpc_connections_dropped_total',
      help: 'gRPC connections closed at once because MAX_CONNECTIONS were open on the gRPC port',
      registers: [registry],
    }),
    problems: new Counter({
      name: 'maas_http_errors_total',
      help: 'Error responses by HTTP status',
      labelNames: ['status'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'maas_queue_jobs',
      help: 'Jobs per queue state, read from Redis at scrape time. Every job has a BullMQ priority, so queued jobs are state="prioritized" and state="waiting" stays 0; completed and failed are the jobs retained (JOB_RETENTION_S), not rates',
      labelNames: ['model', 'version', 'state'],
      registers: [registry],
    }),
    // Per model, every version and state together: what a scaler of one model's workers (WORKER_MODELS) reads.
    modelBacklog: new Gauge({
      name: 'maas_model_backlog',
      help: 'Queued inference jobs of a model (its served versions, and the versions it no longer serves whose file is still there) waiting, delayed or running: maas_queue_backlog by model',
      labelNames: ['model'],
      registers: [registry],
    }),
    // "No worker serves this model": 0 while its jobs wait (maas_queue_jobs) is what to alert on.
    modelWorkers: new Gauge({
      name: 'maas_model_workers',
      help: 'Live workers serving each served model version (0: none, its jobs wait; a draining worker serves none), read from their heartbeats at scrape time',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    queueOldestAge: new Gauge({
      name: 'maas_queue_oldest_job_age_seconds',
      help: 'Seconds the oldest queued job (not yet taken by a worker) of each served model version has waited, 0 when none is queued; read at scrape time',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'maas_requests_refused_total',
      help: 'Requests this API process answered 429, by problem type (reason: rate-limited, quota-exceeded, queue-full) and tenant (its name in API_KEYS)',
      labelNames: ['reason', 'tenant'],
      registers: [registry],
    }),
    expired: new Counter({
      name: 'maas_jobs_expired_total',
      help: 'Jobs this API process ended at their timeout_ms while still queued (no worker had taken them); those a worker reached first are its maas_jobs_processed_total{outcome="expired"}',
      labelNames: ['model'],
      registers: [registry],
    }),
    redisDataResets: new Counter({
      name: 'maas_redis_data_resets_total',
      help: 'Times this process found Redis emptied, or restored from another copy or an older snapshot (its data epoch gone, another, or gone back); the log says which',
      registers: [registry],
    }),
    redisUp: new Gauge({
      name: 'maas_redis_up',
      help: '1 when this scrape read Redis (queue depth, workers), 0 when Redis was unreachable',
      registers: [registry],
    }),
    // One unlabeled number for autoscalers (KEDA's metrics-api scaler reads it by name).
    backlog: new Gauge({
      name: 'maas_queue_backlog',
      help: 'Queued inference jobs (BullMQ jobs, not requests: the one-row requests the API packs in one turn count once, a batch chunk once) waiting, delayed or running, all models together: every queue a worker would run (a version no longer served whose file is still there included)',
      registers: [registry],
    }),
    // Only workers send webhooks: with none running (scaled to zero) a retry would wait for the next job.
    webhookBacklog: new Gauge({
      name: 'maas_webhook_backlog',
      help: 'Webhook deliveries to send now or within a minute (queued, retrying within 60 s, recorded and not yet queued): what only workers send',
      registers: [registry],
    }),
    responseCache: new Counter({
      name: 'maas_response_cache_requests_total',
      help: 'v2 infer requests of models with response_cache, by whether this API process had their answer (hit) or ran them (miss)',
      labelNames: ['model', 'result'],
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'maas_api_waiting_requests',
      help: 'Requests this API process holds waiting for a job or batch to end (Prefer: wait, ?wait, v2 infer)',
      registers: [registry],
      collect() {
        this.set(waiting());
      },
    }),
    // A soak tells a full cache (level at its bound) from a leak (still growing) by these.
    cacheEntries: new Gauge({
      name: 'maas_api_cache_entries',
      help: 'Entries in each of this API process\'s in-memory caches (each bounded by entries, age and, where it has maas_api_cache_bytes, bytes)',
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        for (const c of caches()) this.set({ cache: c.cache }, c.entries);
      },
    }),
    cacheBytes: new Gauge({
      name: 'maas_api_cache_bytes',
      help: 'Bytes charged to each of this API process\'s in-memory caches bounded by bytes (completion_results: characters of JSON text)',
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        for (const c of caches()) if (c.bytes !== undefined) this.set({ cache: c.cache }, c.bytes);
      },
    }),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * The status a request is counted under when it ended before its answer was sent (nginx's
 * "client closed request"): its client went away, or the API cut it (the shutdown grace, a
 * download whose client took nothing for IDLE_TIMEOUT_S).
 */
export const CLIENT_CLOSED_STATUS = '499';

export function httpMetrics(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.http.startTimer();
    // 'close' comes after 'finish' for an answer sent, and alone for one cut short (a long-poll or
    // an infer given up on, a download let go): counted as 499, not left out.
    res.on('close', () => {
      // The matched route pattern, not the URL, keeps label cardinality bounded.
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const status = res.writableFinished ? String(res.statusCode) : CLIENT_CLOSED_STATUS;
      end({ method: req.method, route: String(route), status });
      if (res.writableFinished && res.statusCode >= 400) metrics.problems.inc({ status });
    });
    next();
  };
}

/** Counts each refusal (a 429: http/refusals.ts) the problem handler answers, by reason and tenant. */
export function countRefusals(metrics: ApiMetrics): ProblemAnswered {
  return (app, req) => {
    const labels = refusalOf(app, req.tenant);
    if (labels) metrics.refused.inc(labels);
  };
}

/** A scrape's Redis reads take at most this long (Prometheus' default scrape timeout is 10 s). */
const SCRAPE_REDIS_MS = 5000;

/** Where a scrape reads what is not the API's own. */
export interface MetricSources {
  catalog: ModelCatalog;
  queues: QueueRegistry;
  workers: WorkerDirectory;
  redis: Redis;
  webhookQueue: DeliveryQueue;
}

export async function renderMetrics(metrics: ApiMetrics, { catalog, queues, workers, redis, webhookQueue }: MetricSources, log?: Logger) {
  let fromWorkers: WorkerMetrics[] = [];
  let fromRedis = true;
  try {
    // Bounded: a scrape answers, with the API's own metrics, while Redis holds its connections without answering.
    const read = async () => {
      // Read first: workers.metrics() below reuses this reading (WorkerDirectory's cache).
      const live = await workers.live();
      await readQueueDepth(metrics, catalog, queues, redis, live);
      metrics.webhookBacklog.set(await webhookBacklog(redis, webhookQueue));
      return (await workers.metrics()).map(({ id, metrics: m }) => labeledWith(m as WorkerMetrics, id));
    };
    fromWorkers = await answeredWithin(read(), SCRAPE_REDIS_MS, 'the scrape');
    metrics.redisUp.set(1);
  } catch (err) {
    if (!isRedisUnavailable(err)) throw err;
    log?.warn({ err: (err as Error).message }, '/metrics without Redis: the API\'s own metrics only');
    for (const g of [metrics.queueDepth, metrics.modelWorkers, metrics.queueOldestAge]) g.reset();
    metrics.redisUp.set(0);
    fromRedis = false;
  }
  // Without Redis the backlogs are not known: no sample (a 0 would tell an autoscaler to scale the workers in).
  const own = (await metrics.registry.getMetricsAsJSON()).filter((m) => fromRedis || !BACKLOGS.has(m.name));
  const merged = AggregatorRegistry.aggregate([own, ...fromWorkers].map(forExposition) as never);
  return { contentType: merged.contentType, body: await merged.metrics() };
}

const BACKLOGS = new Set(['maas_queue_backlog', 'maas_model_backlog', 'maas_webhook_backlog']);

/** One worker's metrics as prom-client's getMetricsAsJSON gives them. */
type WorkerMetrics = MetricsJson;

/** PURE: `metrics` with every value labeled `worker: id`. */
export function labeledWith(metrics: WorkerMetrics, id: string): WorkerMetrics {
  return metrics.map((m) => ({ ...m, values: (m.values ?? []).map((v) => ({ ...v, labels: { ...v.labels, worker: id } })) }));
}

/**
 * Every served version's queue, and every other model queue that still holds jobs (a retiring
 * version's, one whose folder is gone: services/unserved-queues.ts). The backlog an autoscaler
 * reads counts every queue a worker would run: the served versions', and those a version no
 * longer served left while its file is still in the repository (retired, replaced, unloaded: a
 * worker started then runs them). A capacity audit: jobs queued for v1 while no worker ran were
 * left out once v2 appeared, the backlog read 0, and no worker was ever started for them. A
 * version whose file is gone is not counted: no worker can run its jobs (they wait for their
 * `timeout_ms`), and counting them would keep a worker up for nothing.
 */
async function readQueueDepth(metrics: ApiMetrics, catalog: ModelCatalog, queues: QueueRegistry, redis: Redis, live: readonly LiveWorker[]): Promise<void> {
  const versions = catalog.models.flatMap((m) => m.versions);
  // All at once, each queue's states in one round trip and its oldest job in one script, sent
  // together (no command waits for another's answer), as the unserved ones are read.
  const [served, unserved] = await Promise.all([
    Promise.all(versions.map(async (v) => {
      const name = inferenceQueueName(v.model, v.version);
      const [counts, oldest] = await Promise.all([queueJobCounts(redis, name), oldestQueuedAt(redis, name)]);
      return { model: v.model, version: v.version, counts, oldest };
    })),
    unservedQueues(redis, queues, catalog),
  ]);
  const now = clusterNow();
  const runnable = await Promise.all(unserved.map((q) => hasVersionFile(catalog.repository.root, q.model, q.version)));
  for (const g of [metrics.queueDepth, metrics.modelBacklog, metrics.modelWorkers, metrics.queueOldestAge]) g.reset();
  // Every served version has both samples, 0 included: an alert on 0 workers needs the 0.
  for (const q of served) {
    const labels = { model: q.model, version: String(q.version) };
    metrics.modelWorkers.set(labels, servingWorkers(live, q.model, q.version).length);
    metrics.queueOldestAge.set(labels, queuedSeconds(q.oldest, now) ?? 0);
  }
  for (const q of [...served, ...unserved]) {
    for (const [state, n] of Object.entries(q.counts)) metrics.queueDepth.set({ model: q.model, version: String(q.version), state }, n);
  }
  const byModel = new Map(catalog.models.map((m) => [m.name, 0]));
  for (const q of [...served, ...unserved.filter((_, i) => runnable[i])]) {
    byModel.set(q.model, (byModel.get(q.model) ?? 0) + q.counts.waiting + q.counts.prioritized + q.counts.delayed + q.counts.active);
  }
  for (const [model, jobs] of byModel) metrics.modelBacklog.set({ model }, jobs);
  metrics.backlog.set([...byModel.values()].reduce((a, b) => a + b, 0));
}
