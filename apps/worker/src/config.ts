/** Worker configuration (CONTRACT §1), parsed once at start-up. Nothing runs at import time. */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BoolEnv, LoggingEnv, CsvEnv, intEnv, numberEnv, parseEnv, ListenHostEnv, PortEnv, RedisUrl, RetryScheduleEnv, WebhookSecretEnv, DiePointEnv } from '@maas/shared';

export const WorkerEnv = z.object({
  ...LoggingEnv,
  /** the worker's name in job metrics, logs and liveness; unset: a random `wrk_…` */
  WORKER_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,253}$/, 'use 1 to 253 letters, digits or . _ : - (a pod name fits)').optional(),
  REDIS_URL: RedisUrl.default('redis://127.0.0.1:6379'),
  MODEL_REPOSITORY: z.string().min(1).default('./models'),
  /** how often the model repository is scanned for new, removed or rewritten models and versions; 0 = never (load/unload routes only) */
  MODEL_REPOSITORY_POLL_S: intEnv(0, 3600).default(5),
  /** models this worker serves (names, or name:version); empty = every model in the repository */
  WORKER_MODELS: CsvEnv.default([]),
  WORKER_DEVICE: z.enum(['cpu', 'cuda']).default('cpu'),
  /**
   * BullMQ job lock: a worker that stops renewing it (a frozen process) loses its jobs after
   * this long. A dead worker's jobs come back sooner, through its missing liveness beat.
   */
  WORKER_LOCK_MS: intEnv(1000, 600_000).default(30_000),
  /** how often BullMQ's stalled-job check runs (one check per queue for the whole fleet, cheap) */
  WORKER_STALLED_INTERVAL_MS: intEnv(500, 600_000).default(1500),
  /**
   * a worker whose liveness beat (renewed every third of this from a timer that never runs
   * long inference) is older than this counts as dead: live workers release its jobs at once
   */
  WORKER_ALIVE_TTL_MS: intEnv(600, 600_000).default(3000),
  /**
   * a stop (SIGTERM/SIGINT) waits this long for an unreachable Redis before it gives up its drain
   * and exits 1; the held jobs are then recovered as a dead worker's (shared drain-guard.ts)
   */
  WORKER_DRAIN_REDIS_WAIT_MS: intEnv(100, 3_600_000).default(10_000),
  /** a session run longer than this is wedged: its thread is replaced and its jobs retried */
  WORKER_RUN_TIMEOUT_MS: intEnv(10, 3_600_000).default(60_000),
  /** jobs fetched and held at once per model version; default from max_batch_size */
  WORKER_CONCURRENCY: intEnv(0, 10_000).default(0),
  /** onnxruntime intra-op threads per session; default: cores / sessions */
  WORKER_INTRA_OP_THREADS: intEnv(0, 256).default(0),
  /** let onnxruntime's idle threads spin (a dedicated machine); off by default */
  WORKER_SPIN_THREADS: BoolEnv.default(false),
  /** how often the worker announces itself (heartbeat.ts); readers count three missed beats as gone */
  WORKER_HEARTBEAT_MS: intEnv(200, 60_000).default(5000),
  /**
   * an idle worker's wait for a job also takes the job, in one round trip (batching/blocking-fetch.ts);
   * off: BullMQ's own fetch (wait, then ask for the job)
   */
  WORKER_BLOCKING_FETCH: BoolEnv.default(true),
  /**
   * runs predicted shorter than this (ms) run on the worker's main thread instead of a session
   * thread (no hand-off); 0 turns it off. Only for CPU models of at most 64 MB.
   */
  WORKER_INLINE_MAX_MS: numberEnv((n) => n.min(0).max(50)).default(0.5),
  /** how long webhook deliveries and their history stay readable (set it as the API's) */
  JOB_RETENTION_S: intEnv(60, 90 * 24 * 3600).default(24 * 3600),
  /** the open mode's (DEFAULT_TENANT's) signing secret, as on the API; other tenants' secrets are kept in Redis */
  WEBHOOK_SECRET: WebhookSecretEnv,
  /** delays between webhook attempts; default the Standard Webhooks schedule */
  WEBHOOK_RETRY_SCHEDULE: RetryScheduleEnv,
  WEBHOOK_ALLOW_PRIVATE: BoolEnv.default(false),
  /** TEST HOOK (e2e only): SIGKILL at this point (@maas/shared test-hooks.ts) */
  MAAS_TEST_DIE_AT: DiePointEnv,
  /** TEST HOOK (e2e only): a pool's first session threads exit when their n-th run arrives (inference/protocol.ts) */
  WORKER_TEST_SESSION_EXIT_ON_RUN: intEnv(1, 1_000_000).optional(),
  /** per attempt: connect, send, and the receiver's answer */
  WEBHOOK_TIMEOUT_MS: intEnv(100, 600_000).default(10_000),
  /** deliveries in flight per worker process (independent of inference) */
  WEBHOOK_CONCURRENCY: intEnv(1, 10_000).default(50),
  /** the health port (/livez, /readyz, /metrics: health/server.ts); unset: none (several workers on one host need one each) */
  WORKER_HEALTH_PORT: PortEnv.optional(),
  /** the health port's address (0.0.0.0 in a pod, for the kubelet's probes; `::` or `[::]` for IPv6 and IPv4) */
  WORKER_HEALTH_HOST: ListenHostEnv.default('127.0.0.1'),
});

export type WorkerConfig = z.output<typeof WorkerEnv> & { cores: number };

export function loadConfig(env: Record<string, string | undefined>): WorkerConfig {
  return { ...parseEnv(WorkerEnv, env), cores: availableParallelism() };
}

/** Execution providers to try: the model's config wins; else the device's, CUDA falling back to CPU. */
export function providersFor(device: WorkerConfig['WORKER_DEVICE'], configured: string[] | undefined): string[] {
  if (configured && configured.length > 0) return configured;
  return device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}
