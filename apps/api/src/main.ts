/**
 * API process: config → Redis → model repository → services → listen.
 * SIGTERM/SIGINT: stop accepting connections, answer long-polls with the job as it is, close
 * queues and Redis, exit 0.
 */
import type { Server } from 'node:http';
import {
  answeredWithin, connectRedis, OutboxRelay, createLogger, drainWhileRedisAnswers, isRedisUnavailable, loadRepository, onShutdown, RedisGoneError, redisAnswers, RepositoryPoller, runMain,
  StatsWriter, TenantSecrets, WebhookEmitter, armDieAt, checkConfiguredSecret, evictionPolicyProblem, hostPort, megabytes, openModeSecrets, Periodic, logRedisReturn, throttledErrorLog, keepClusterClock, DataEpoch,
} from '@maas/shared';
import { StatusBoard } from './admin/status.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import type { Deps } from './deps.js';
import { GrpcFrontDoor } from './grpc/server.js';
import { rateLimiter } from './http/rate-limit.js';
import { serverTimeouts } from './http/timeouts.js';
import { createApiMetrics } from './metrics.js';
import { ResponseCache } from './inference/response-cache.js';
import { FairShare, fairShareEnabled } from './fairness/fair-share.js';
import { QueuedRowsQuota } from './quotas/queued-rows.js';
import { limitsFor, rowsLimited, sharedRedisWarning } from './quotas/limits.js';
import { BatchService } from './services/batches.js';
import { ModelCatalog } from './services/catalog.js';
import { IdempotencyStore } from './services/idempotency.js';
import { JOB_ATTEMPTS } from './services/job-retry.js';
import { InferenceService } from './services/inference.js';
import { JobService } from './services/jobs.js';
import { createHttpServer } from './http/server.js';
import { CompletionEvents } from './services/completion-events.js';
import { JobNotifier } from './services/notifier.js';
import { QueueRegistry } from './services/queues.js';
import { RepositoryService } from './services/repository.js';
import { SessionChecks } from './services/session-check.js';
import { StatsService } from './services/stats.js';
import { UploadSweeper } from './services/upload-sweeper.js';
import { CanceledBatchSweeper } from './services/canceled-batches.js';
import { ExpirySweeper } from './services/expiry.js';
import { RetentionSweeper } from './services/retention.js';
import { WebhookService } from './services/webhooks.js';
import { WorkerDirectory } from './services/workers.js';
import { Stop } from './services/stop-signal.js';

const log = createLogger('api');
/** Readiness reads Redis as down when its ping takes longer (a probe must answer: Kubernetes' timeout is 3 s). */
const HEALTH_REDIS_MS = 2000;
/** While stopping, connections that fell idle are closed this often. */
const CLOSE_IDLE_EVERY_MS = 250;
/** At a stop, Redis unreachable this long ends the wait for what takes it (the worker's WORKER_DRAIN_REDIS_WAIT_MS default). */
const API_DRAIN_REDIS_WAIT_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  armDieAt(config.MAAS_TEST_DIE_AT);
  if (!config.API_KEYS) log.warn('API_KEYS is not set: the API accepts every request without authentication');
  // The poller's baseline comes first, so a change made while the repository is read is noticed.
  const poller = await RepositoryPoller.baseline(config.MODEL_REPOSITORY, config.MODEL_REPOSITORY_POLL_S * 1000, log);
  // Every version is checked before it is served, at start-up too (an onnxruntime session created
  // in a thread): one that fails is left out and the version policy falls back, as for a hot change.
  const checks = new SessionChecks();
  const repository = await loadRepository(config.MODEL_REPOSITORY, (_model, v) => checks.check(v));
  for (const p of repository.problems) log.error({ problem: p }, 'model skipped');
  for (const w of repository.warnings) log.warn(w);
  for (const m of repository.models.values()) {
    for (const u of m.unavailable) log.warn({ model: m.name, version: u.version, reason: u.reason }, 'model version unavailable: the previous versions are served');
  }
  const redis = await connectRedis(config.REDIS_URL, 'api', 'api');
  // Why Redis is out while running (refused, a password revoked: WRONGPASS), once every 30 s a
  // reason; requests meanwhile answer 503 and readiness reads not ready.
  redis.on('error', throttledErrorLog(log, 'Redis connection failed; reconnecting', 30_000));
  logRedisReturn(redis, log, 'api');
  const metrics = createApiMetrics(() => notifier.waiting, () => [
    ...notifier.cacheSizes,
    ...jobs.cacheSizes,
    ...(responseCache ? [{ cache: 'responses', entries: responseCache.cache.size, bytes: responseCache.cache.bytes }] : []),
  ]);
  // What this process stamps and judges (deadlines, retention, leases) on the cluster's clock (Redis's);
  // its reads carry the data epoch's check, which says when Redis lost its data or was restored.
  const epoch = new DataEpoch(log, () => metrics.redisDataResets.inc());
  const clock = await keepClusterClock(redis, throttledErrorLog(log, 'could not read the cluster clock (Redis TIME); the last reading stays', 60_000), epoch);
  // BullMQ's queues on a connection of their own.
  const queueRedis = await connectRedis(config.REDIS_URL, 'api', 'api:queues');
  const subscriber = await connectRedis(config.REDIS_URL, 'worker', 'api:events');
  const catalog = new ModelCatalog(repository);
  const queues = new QueueRegistry(queueRedis);
  const notifier = await JobNotifier.start(subscriber, log);
  const shutdown = new Stop();
  // WEBHOOK_SECRET is the open mode's (DEFAULT_TENANT's) secret; each API key's tenant gets its own in Redis.
  const secrets = new TenantSecrets(redis, {
    fixed: openModeSecrets(config.WEBHOOK_SECRET),
    overlapMs: config.WEBHOOK_SECRET_OVERLAP,
    log,
  });
  const secretWarning = await checkConfiguredSecret(redis, 'api', config.WEBHOOK_SECRET);
  if (secretWarning) log.warn(secretWarning);
  const evicting = await evictionPolicyProblem(redis);
  if (evicting) log.error(evicting);
  if (config.WEBHOOK_SECRET && config.API_KEYS) {
    // Receivers that verified with it before keys were set fail every delivery from now on.
    log.warn('WEBHOOK_SECRET signs for the open mode only: with API_KEYS set each tenant signs with its own secret (GET /v1/webhooks/secret), so receivers verifying with WEBHOOK_SECRET must take their tenant\'s');
  }
  const quotaDefaults = { rps: config.RATE_LIMIT_RPS, queuedRows: config.QUOTA_QUEUED_ROWS, priorityFloor: config.PRIORITY_FLOOR };
  const limits = (tenant: string) => limitsFor(tenant, quotaDefaults, config.TENANT_QUOTAS);
  const unshared = sharedRedisWarning([...(config.API_KEYS?.values() ?? [])], limits, config.BATCH_MAX_MB);
  if (unshared) log.warn(unshared);
  const queuedRows = rowsLimited(quotaDefaults, config.TENANT_QUOTAS) ? new QueuedRowsQuota(redis, (t) => limits(t).queuedRows, log) : undefined;
  const webhookEmitter = new WebhookEmitter(queueRedis, config.JOB_RETENTION_S);
  // Relays the webhook events of endings this process records (a queued job's cancel, a batch
  // it completes); a worker's sweeper relays them if this process dies first.
  const outboxRelay = new OutboxRelay(redis, webhookEmitter, log.child({ component: 'outbox' }));
  const jobs = new JobService(redis, catalog, queues, notifier, new IdempotencyStore(redis, config.JOB_RETENTION_S), {
    retentionSeconds: config.JOB_RETENTION_S,
    maxQueueDepth: config.MAX_QUEUE_DEPTH,
    attempts: JOB_ATTEMPTS,
    allowPrivateWebhooks: config.WEBHOOK_ALLOW_PRIVATE,
  }, outboxRelay);
  jobs.admission = queuedRows;
  // What the waiters' caches hold past their windows is let go while the process idles too.
  const pruning = new Periodic(async () => {
    notifier.prune();
    jobs.prune();
  }, 5_000, () => {}).start();
  const completions = new CompletionEvents((name) => connectRedis(config.REDIS_URL, 'worker', name), notifier, log);
  jobs.completions = completions;
  const fair = new FairShare(redis, fairShareEnabled(config.FAIR_SHARE, config.API_KEYS));
  jobs.fair = fair;
  const batches = new BatchService(redis, queueRedis, catalog, queues, notifier, log, {
    retentionSeconds: config.BATCH_RETENTION_S,
    maxLines: config.BATCH_MAX_LINES,
    maxLineBytes: megabytes(config.BATCH_MAX_LINE_MB),
    attempts: JOB_ATTEMPTS,
    allowPrivateWebhooks: config.WEBHOOK_ALLOW_PRIVATE,
    maxQueueDepth: config.MAX_QUEUE_DEPTH,
    leaseSeconds: config.UPLOAD_LEASE_S,
  });
  const sweeper = new UploadSweeper(redis, (id) => batches.abandoned(id), config.UPLOAD_LEASE_S, log).start();
  const expiry = new ExpirySweeper(redis, queues, outboxRelay, queuedRows, log, (model) => metrics.expired.inc({ model })).start();
  const retention = new RetentionSweeper(redis, queues, { jobMs: config.JOB_RETENTION_S * 1000, batchMs: config.BATCH_RETENTION_S * 1000 }, log).start();
  batches.admission = queuedRows;
  batches.fair = fair;
  batches.relay = outboxRelay;
  const workers = new WorkerDirectory(redis);
  const repositoryService = new RepositoryService(redis, catalog, log, checks, workers);
  const modelEvents = await connectRedis(config.REDIS_URL, 'worker', 'api:models');
  await repositoryService.start(modelEvents);
  poller.start((changes) => repositoryService.follow(changes));
  const canceledBatches = new CanceledBatchSweeper(redis, batches, workers, log).start();
  const status = new StatusBoard(catalog, queues, workers, log, { everyMs: config.STATUS_SAMPLE_S * 1000, keepMs: 15 * 60_000 });
  status.start();
  // v2 infer answers of models with response_cache, kept in this process (inference/response-cache.ts).
  const cacheStats = new StatsWriter(redis, log);
  const responseCache = config.RESPONSE_CACHE_MB > 0
    ? {
        cache: new ResponseCache(config.RESPONSE_CACHE_MB * 2 ** 20, config.JOB_RETENTION_S * 1000),
        stats: cacheStats,
        counted: (model: string, result: 'hit' | 'miss') => metrics.responseCache.inc({ model, result }),
      }
    : undefined;
  const deps: Deps = {
    config,
    redis,
    log,
    catalog,
    jobs,
    inference: new InferenceService(jobs, config.INFER_TIMEOUT_S * 1000, shutdown, limits, responseCache),
    stats: new StatsService(redis, catalog),
    repository: repositoryService,
    batches,
    queues,
    workers,
    webhooks: new WebhookService(jobs, batches, webhookEmitter, secrets),
    webhookQueue: webhookEmitter.queue,
    limits,
    status,
    metrics,
    rateLimit: rateLimiter(redis, (tenant) => limits(tenant).rps, [quotaDefaults.rps, ...Object.values(config.TENANT_QUOTAS).map((o) => o.rps ?? 0)]),
    shutdown,
    // Ready once Redis answers, loaded models or none, as Triton is: with readiness hanging on a
    // loaded model, unloading the last one took every API out of its Service, and the load that
    // would bring it back could reach none of them.
    health: async () => {
      const ok = await answeredWithin(redis.ping(), HEALTH_REDIS_MS, 'the readiness ping').then(() => true, () => false);
      return { ready: ok, redis: ok, models: catalog.models.length };
    },
  };
  const app = createApp(deps);
  const server: Server = await new Promise((resolve, reject) => {
    const s = createHttpServer(app);
    s.once('error', reject);
    s.listen(config.PORT, config.HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  Object.assign(server, serverTimeouts(config));
  // Past MAX_CONNECTIONS Node closes a new connection as it opens (no answer can be sent on it).
  if (config.MAX_CONNECTIONS > 0) {
    server.maxConnections = config.MAX_CONNECTIONS;
    server.on('drop', () => deps.metrics.droppedConnections.inc());
  }
  const grpc = await GrpcFrontDoor.start(deps, config.HOST, config.GRPC_PORT);
  const addr = server.address();
  log.info({ url: `http://${hostPort(config.HOST, typeof addr === 'object' && addr ? addr.port : config.PORT)}`, models: catalog.models.map((m) => m.name), fair_share: fair.enabled }, 'api listening');
  log.info({ address: hostPort(config.HOST, grpc.port) }, 'grpc listening');

  onShutdown(log, async (signal) => {
    log.info({ signal }, 'stopping');
    shutdown.stop();
    status.close();
    // Not awaited here: a pass under way may wait on a Redis that answers nothing (the guard below bounds that).
    const stopped = Promise.all([pruning.stop(), poller.close()]);
    // gRPC beside HTTP: open streams end once they have answered, calls still open at the grace's end are cut.
    const grpcClosed = grpc.close(config.SHUTDOWN_GRACE_S * 1000);
    await new Promise<void>((resolve) => {
      // Connections idle now are closed at once; those whose answer was under way at the stop
      // (keep-alive said before it, a download) as soon as they fall idle, not after keep-alive's 65 s.
      const idle = setInterval(() => server.closeIdleConnections(), CLOSE_IDLE_EVERY_MS);
      server.close(() => {
        clearInterval(idle);
        resolve();
      });
      server.closeIdleConnections();
      // Requests still open at the grace's end (an upload arriving slowly) are cut: an upload so
      // cut is withdrawn, as one whose client left; the process exits within the pod's grace.
      setTimeout(() => {
        log.warn({ grace_s: config.SHUTDOWN_GRACE_S }, 'requests still open at the end of the shutdown grace: cut');
        server.closeAllConnections();
      }, config.SHUTDOWN_GRACE_S * 1000).unref();
    });
    await grpcClosed;
    // What is left takes Redis (a BullMQ queue's close waits for its connection): with Redis
    // gone for a while, the API stops without it, as it holds nothing of its own.
    const closing = (async () => {
      await stopped;
      await batches.uploadsSettled(); // an upload cut at the grace's end is withdrawn, not left to a sweeper
      await sweeper.close();
      await canceledBatches.close();
      await expiry.close();
      await retention.close();
      await queues.close();
      await webhookEmitter.close();
      await completions.close();
      await notifier.close();
      await cacheStats.close();
      await clock.stop();
    })();
    await drainWhileRedisAnswers(closing, redisAnswers(redis), API_DRAIN_REDIS_WAIT_MS).catch((err: unknown) => {
      // Gone, or holding its connections past their command timeout (a close that timed out).
      if (!(err instanceof RedisGoneError) && !isRedisUnavailable(err)) throw err;
      log.warn({ err: (err as Error).message }, 'stopping without Redis');
    });
    modelEvents.disconnect();
    queueRedis.disconnect();
    redis.disconnect();
    log.info('api stopped');
  });
}

runMain(log, main);
