/**
 * Worker process: loads the served models into session threads, then consumes their queues.
 * SIGTERM/SIGINT: stop fetching (counted as serving no model from then on), hand back batch chunks held and not started, finish every other job held, leave the registry, exit 0.
 */
import { stat } from 'node:fs/promises';
import {
  ConfigError, connectRedis, createLogger, drainWhileRedisAnswers, redisAnswers, inferenceQueueName, loadRepository, newWorkerId, onShutdown, openModeSecrets, OutboxRelay, checkConfiguredSecret, evictionPolicyProblem,
  RepositoryPoller, runMain, TenantSecrets, modelFolders, versionFoldersOf, warmupRuns, WEBHOOK_QUEUE, WebhookEmitter, workerModelsSelect, modelOfEntry, type ModelInfo, type ModelVersion, armDieAt, keepClusterClock, logRedisReturn, throttledErrorLog, DataEpoch,
} from '@maas/shared';
import { loadConfig, providersFor, type WorkerConfig } from './config.js';
import { InlineSession } from './inference/inline-session.js';
import { SessionPool } from './inference/session-pool.js';
import { createWorkerMetrics } from './metrics.js';
import { Heartbeat } from './heartbeat.js';
import { AliveBeat } from './liveness/alive-beat.js';
import { DeadWorkerSweeper } from './liveness/sweeper.js';
import { serveHealth } from './health/server.js';
import type { Phase } from './health/verdicts.js';
import { ChunkLedger } from './ledger/chunks.js';
import { JobLedger } from './ledger/jobs.js';
import { OUTBOX_SWEEP_MS, OutboxSweeper } from './ledger/sweeper.js';
import { ModelRunner } from './runner.js';
import { LiveModels, retireGraceMs } from './models/live-models.js';
import { StatsRecorder } from './stats/recorder.js';
import { deliveryHolder, WebhookDeliverer } from './webhooks/deliverer.js';

/** Models larger than this never get a second (main-thread) session. */
const INLINE_MAX_MODEL_BYTES = 64 * 1024 * 1024;

const log = createLogger('worker');

/** Whether this worker serves `v` (WORKER_MODELS: shared models/worker-models.ts). */
function selected(config: WorkerConfig, v: Pick<ModelVersion, 'model' | 'version'>): boolean {
  return workerModelsSelect(config.WORKER_MODELS, v.model, v.version);
}

/**
 * The queues of every version folder on disk of the models this worker would run, served or
 * not: a predecessor under this WORKER_ID may have died holding jobs of a version it was
 * retiring (unloaded, or replaced under its policy), which no other sweeper would release.
 */
async function versionQueuesOnDisk(config: WorkerConfig, root: string): Promise<string[]> {
  const queues: string[] = [];
  for (const model of await modelFolders(root)) {
    for (const version of await versionFoldersOf(root, model)) {
      if (selected(config, { model, version })) queues.push(inferenceQueueName(model, version));
    }
  }
  return queues;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  armDieAt(config.MAAS_TEST_DIE_AT);
  const workerId = config.WORKER_ID ?? newWorkerId();
  // Every line from here on names this worker (its children made later inherit it).
  log.setBindings({ worker: workerId });
  // The poller's baseline comes first, so a change made while the repository is read is noticed.
  const poller = await RepositoryPoller.baseline(config.MODEL_REPOSITORY, config.MODEL_REPOSITORY_POLL_S * 1000, log);
  const repo = await loadRepository(config.MODEL_REPOSITORY);
  for (const w of repo.warnings) log.warn(w); // its problems: logged by LiveModels as it loads
  const versions = [...repo.models.values()].flatMap((m) => m.versions.map((v) => ({ m, v }))).filter(({ v }) => selected(config, v));
  const unknown = config.WORKER_MODELS.filter((w) => !versions.some(({ v }) => workerModelsSelect([w], v.model, v.version)));
  if (unknown.length) {
    // A model that could not be read says why (its folder exists, its config.json does not parse…).
    const why = unknown.map((w) => [w, repo.failed.get(modelOfEntry(w))] as const).filter(([, reason]) => reason).map(([w, reason]) => `${w}: ${reason}`);
    throw new ConfigError([`WORKER_MODELS names models not served from ${repo.root}: ${unknown.join(', ')}`, ...why]);
  }
  // None yet (an empty repository, every model unloaded or broken): the worker starts, not
  // ready (its health port says why), and serves each model that appears (the poller).
  if (versions.length === 0) log.warn({ repository: repo.root }, 'no model to serve yet: not ready until one can be loaded');

  const redis = await connectRedis(config.REDIS_URL, 'worker', `${workerId}:control`);
  logRedisReturn(redis, log, `${workerId}:control`);
  const metrics = createWorkerMetrics(workerId);
  // What this process stamps and judges (deadlines, endings, webhook signatures and retries) on the cluster's clock (Redis's);
  // its reads carry the data epoch's check, which says when Redis lost its data or was restored.
  const epoch = new DataEpoch(log, () => metrics.redisDataResets.inc());
  const clock = await keepClusterClock(redis, throttledErrorLog(log, 'could not read the cluster clock (Redis TIME); the last reading stays', 60_000), epoch);
  // WEBHOOK_SECRET is the open mode's (DEFAULT_TENANT's) secret; every other tenant's is in Redis.
  const secrets = new TenantSecrets(redis, { fixed: openModeSecrets(config.WEBHOOK_SECRET), log });
  const secretWarning = await checkConfiguredSecret(redis, 'worker', config.WEBHOOK_SECRET);
  if (secretWarning) log.warn(secretWarning);
  const evicting = await evictionPolicyProblem(redis);
  if (evicting) log.error(evicting);
  const emitter = new WebhookEmitter(redis, config.JOB_RETENTION_S);
  // The ledger: every ending is recorded once with its webhook events (an outbox), relayed
  // to the delivery queue at once, or by the sweeper after a crash (see ledger/).
  const relay = new OutboxRelay(redis, emitter, log.child({ component: 'outbox' }));
  const jobLedger = new JobLedger(redis, relay);
  const chunkLedger = new ChunkLedger(redis, relay);
  const outboxSweeper = new OutboxSweeper(relay, log.child({ component: 'outbox' }), OUTBOX_SWEEP_MS);
  const deliverer = new WebhookDeliverer(
    {
      workerId,
      redisUrl: config.REDIS_URL,
      secrets,
      schedule: config.WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      policy: { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE },
      concurrency: config.WEBHOOK_CONCURRENCY,
      stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
    },
    redis,
    log.child({ component: 'webhooks' }),
    (result, reason) => metrics.webhookAttempts.inc(reason ? { result, reason } : { result }),
  );
  const stats = new StatsRecorder(redis, log);
  // The cores are shared among the sessions of the versions served at start; a worker started
  // with none shares them among each model's own instances as it appears.
  const sessionsAtStart = versions.reduce((n, { m }) => n + m.config.instances, 0);
  const open = async (m: ModelInfo, v: ModelVersion): Promise<ModelRunner> => {
    const threads = config.WORKER_INTRA_OP_THREADS || Math.max(1, Math.floor(config.cores / (sessionsAtStart || m.config.instances)));
    // Each session makes its warm-up runs before it takes a job (shared models/warmup.ts).
    const warmup = warmupRuns(v, m.config.warmup_batch_sizes);
    const pool = await SessionPool.open(
      { path: v.path, providers: providersFor(config.WORKER_DEVICE, m.config.execution_providers), intraOpNumThreads: threads, spinning: config.WORKER_SPIN_THREADS, warmup, ...(config.WORKER_TEST_SESSION_EXIT_ON_RUN ? { exitOnRun: config.WORKER_TEST_SESSION_EXIT_ON_RUN } : {}) },
      m.config.instances,
      {
        runTimeoutMs: config.WORKER_RUN_TIMEOUT_MS,
        log: log.child({ model: v.model, version: v.version }),
        onLost: () => metrics.sessionsLost.inc({ model: v.model, version: String(v.version) }),
      },
    );
    // While no session thread serves the version (one died, its replacement is loading), the
    // heartbeat leaves it out, so /v2/models/{m}/ready reads not ready.
    pool.onServingChange(() => heartbeat.setModels(served(live.runners)));
    if (config.WORKER_INLINE_MAX_MS > 0 && pool.provider === 'cpu' && (await stat(v.path)).size <= INLINE_MAX_MODEL_BYTES) {
      // Its runs are all short: one row warms it (a listed size may be an image model's thousands).
      pool.runShortOnes(await InlineSession.open(v.path, warmup.length ? warmupRuns(v, [1]) : []), config.WORKER_INLINE_MAX_MS);
    }
    if (pool.warmup.failure) {
      log.warn({ model: v.model, version: v.version, reason: pool.warmup.failure }, 'warm-up run failed; serving the model anyway');
    } else if (warmup.length) {
      log.info({ model: v.model, version: v.version, rows: pool.warmup.rows, ms: Math.round(pool.warmup.ms * 10) / 10 }, 'model warmed up');
    }
    if (pool.fallbackReason) {
      log.warn({ model: v.model, version: v.version, provider: pool.provider, reason: pool.fallbackReason }, 'execution provider fell back');
    }
    const r = new ModelRunner(m, v, pool, redis, metrics, log.child({ model: v.model, version: v.version }), {
      workerId,
      redisUrl: config.REDIS_URL,
      lockMs: config.WORKER_LOCK_MS,
      stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
      concurrency: config.WORKER_CONCURRENCY,
      blockingFetch: config.WORKER_BLOCKING_FETCH,
    }, { jobs: jobLedger, chunks: chunkLedger, stats });
    r.start();
    return r;
  };
  const served = (runners: ModelRunner[]) => runners.filter((r) => r.sessions.serving).map((r) => ({ ...r.served, provider: r.provider, digest: r.digest }));
  const heartbeat = new Heartbeat(redis, Heartbeat.describe(workerId, config.WORKER_DEVICE, config.WORKER_HEARTBEAT_MS, [], config.WORKER_MODELS), metrics, log);
  const live = new LiveModels(redis, await connectRedis(config.REDIS_URL, 'worker', `${workerId}:models`), log, {
    root: repo.root,
    selected: (v) => selected(config, v),
    open,
    changed: (runners) => heartbeat.setModels(served(runners)),
    applied: (seq) => heartbeat.setApplied(seq),
    refused: (reasons) => heartbeat.setRefused(reasons),
    retireGraceMs: retireGraceMs(config.MODEL_REPOSITORY_POLL_S * 1000),
  });
  // Beating before any job is taken (alive.start below): from then on, a kill is noticed within WORKER_ALIVE_TTL_MS.
  const alive = new AliveBeat(redis, workerId, config.WORKER_ALIVE_TTL_MS, log);
  const sweeper = new DeadWorkerSweeper(redis, workerId, log, {
    periodMs: alive.periodMs, // a sweep a beat: the same period its late reads are measured against
    forgetAfterMs: config.WORKER_LOCK_MS,
    // A dead worker's deliveries too: else one it held comes back only when its lock expires.
    // Retiring versions' queues too: a dead worker's jobs there need this worker to run them.
    queues: () => [...live.runners.map((r) => r.queueName), ...live.retiringRunners.map((r) => r.queueName), WEBHOOK_QUEUE],
    aliases: (id) => [deliveryHolder(id)],
    link: alive, // after Redis itself stalled, nobody is called dead until this worker has beaten steadily a TTL
  });
  // Before the first beat (which revives this id for every sweeper) and before any job is
  // taken under it: what a dead predecessor under this WORKER_ID held runs again (within the
  // TTL of its death, once its entry has expired).
  await sweeper.releasePredecessor([...await versionQueuesOnDisk(config, repo.root), WEBHOOK_QUEUE]);
  // The health port answers from here on: not ready while the models load.
  let phase: Phase = 'starting';
  const health = config.WORKER_HEALTH_PORT === undefined ? undefined : await serveHealth(config.WORKER_HEALTH_PORT, config.WORKER_HEALTH_HOST, {
    workerId,
    registry: metrics.registry,
    state: () => ({
      phase,
      beatAgeMs: alive.lastRenewedAt === undefined ? undefined : performance.now() - alive.lastRenewedAt,
      beatFailure: alive.lastFailure,
      aliveTtlMs: config.WORKER_ALIVE_TTL_MS,
      versions: live.runners.map((r) => ({ tag: r.tag, wedgedThreads: r.sessions.wedgedThreads, serving: r.sessions.serving })),
    }),
  }, log);
  await alive.start();
  await live.start();
  poller.start((changes) => live.sync(changes.map((c) => c.model)));
  deliverer.start();
  outboxSweeper.start();
  heartbeat.start();
  sweeper.start();
  phase = 'running';
  if (live.runners.length) log.info({ workerId, models: live.runners.map((r) => `${r.tag} (${r.provider})`) }, 'worker ready');
  else log.warn({ workerId }, 'worker started, serving no model (not ready): it serves each model that can be loaded as it appears');

  onShutdown(log, async (signal) => {
    log.info({ signal }, 'draining: finishing held jobs');
    phase = 'stopping';
    heartbeat.setDraining();
    const t0 = Date.now();
    const drain = async () => {
      void sweeper.stop(); // not awaited: a sweep under way may wait for a Redis gone
      await poller.close();
      await Promise.all([live.close(), deliverer.close(), outboxSweeper.stop()]);
      await stats.close(); // the drained jobs' statistics
      await relay.close(); // the last jobs' events are queued before Redis goes
      await emitter.close();
      await heartbeat.stop().catch(() => {});
      await alive.stop().catch(() => {}); // beating until here: a drain, however long, is not a death
      await clock.stop();
    };
    // Recording the held jobs' endings takes Redis: without it, the drain gives up (exit 1).
    await drainWhileRedisAnswers(drain(), redisAnswers(redis), config.WORKER_DRAIN_REDIS_WAIT_MS);
    redis.disconnect();
    health?.closeAllConnections();
    health?.close();
    log.info({ ms: Date.now() - t0 }, 'worker stopped');
  });
}

runMain(log, main);
