/** What the HTTP layer needs, built by main.ts (or a test harness) and handed to createApp. */
import type { Redis } from 'ioredis';
import type { DeliveryQueue, Logger } from '@maas/shared';
import type { StatusBoard } from './admin/status.js';
import type { TenantLimits } from './quotas/limits.js';
import type { ApiConfig } from './config.js';
import type { RateLimiter } from './http/rate-limit.js';
import type { ApiMetrics } from './metrics.js';
import type { BatchService } from './services/batches.js';
import type { ModelCatalog } from './services/catalog.js';
import type { InferenceService } from './services/inference.js';
import type { JobService } from './services/jobs.js';
import type { QueueRegistry } from './services/queues.js';
import type { RepositoryService } from './services/repository.js';
import type { StatsService } from './services/stats.js';
import type { WebhookService } from './services/webhooks.js';
import type { WorkerDirectory } from './services/workers.js';
import type { StopSignal } from './services/stop-signal.js';

export interface Health {
  ready: boolean;
  redis: boolean;
  models: number;
}

export interface Deps {
  config: ApiConfig;
  /** the API's fail-fast Redis connection */
  redis: Redis;
  log: Logger;
  catalog: ModelCatalog;
  jobs: JobService;
  /** synchronous v2 infer (REST and gRPC) */
  inference: InferenceService;
  stats: StatsService;
  repository: RepositoryService;
  batches: BatchService;
  queues: QueueRegistry;
  workers: WorkerDirectory;
  webhooks: WebhookService;
  /** the webhook delivery queue (shown on the queue board) */
  webhookQueue: DeliveryQueue;
  /** what each tenant may do (quotas/limits.ts) */
  limits: (tenant: string) => TenantLimits;
  /** the /admin status page's data */
  status: StatusBoard;
  metrics: ApiMetrics;
  /** RATE_LIMIT_RPS per tenant, shared by REST and gRPC */
  rateLimit: RateLimiter;
  health: () => Promise<Health>;
  /** aborted when the process stops: long-polls answer at once with the job as it is */
  shutdown: StopSignal;
}
