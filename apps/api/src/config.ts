/** API configuration (CONTRACT §1), parsed once at start-up. Nothing runs at import time. */
import { z } from 'zod';
import { BoolEnv, DEFAULT_TENANT, LoggingEnv, intEnv, numberEnv, parseDuration, parsedEnv, parseEnv, ListenHostEnv, PortEnv, RedisUrl, WebhookSecretEnv, DiePointEnv } from '@maas/shared';
import { CorsOriginsEnv } from './http/cors.js';
import { PublicPathEnv } from './http/public-path.js';
import { ADMIN_TENANT } from './http/admin-auth.js';
import { TenantQuotasEnv } from './quotas/limits.js';

/** Tenant names no key may have: the open mode's tenant (WEBHOOK_SECRET signs for it) and ADMIN_KEY's (its rate limit). */
const RESERVED_TENANTS = new Set([DEFAULT_TENANT, ADMIN_TENANT]);

/** `API_KEYS=tenant:key,tenant:key` → key → tenant. */
export const ApiKeys = z
  .string()
  .transform((s, ctx) => {
    const keys = new Map<string, string>();
    const entries = s.split(',').map((p) => p.trim()).filter(Boolean);
    for (const [n, pair] of entries.entries()) {
      const i = pair.indexOf(':');
      const tenant = pair.slice(0, i).trim();
      const key = pair.slice(i + 1).trim();
      if (i <= 0 || !key || !/^[A-Za-z0-9_.-]{1,64}$/.test(tenant)) {
        // Named by its place, never by its text: it may hold a key.
        ctx.addIssue({ code: 'custom', message: `entry ${n + 1} is not tenant:key (tenant: letters, digits, . _ -)` });
        continue;
      }
      if (RESERVED_TENANTS.has(tenant)) {
        ctx.addIssue({ code: 'custom', message: `entry ${n + 1} names tenant "${tenant}", which is reserved (${[...RESERVED_TENANTS].join(', ')}: the open mode's tenant and ADMIN_KEY's, whose limits and webhook secret it would share)` });
        continue;
      }
      if (/\s/.test(key)) {
        // Authorization: Bearer carries one token: a key with a space in it could never be sent.
        ctx.addIssue({ code: 'custom', message: `entry ${n + 1}'s key holds white space, which no Bearer token can carry` });
        continue;
      }
      if (keys.has(key)) ctx.addIssue({ code: 'custom', message: `a key is given to two tenants (${keys.get(key)}, ${tenant})` });
      keys.set(key, tenant);
    }
    // Only commas (`API_KEYS=,`): set, yet naming no one; taken as it reads, it would be the open mode, unwarned.
    if (keys.size === 0 && entries.length === 0) ctx.addIssue({ code: 'custom', message: 'holds no tenant:key entry: set one, or leave API_KEYS unset (or empty) for the open mode' });
    return keys;
  });

export const ApiEnv = z.object({
  ...LoggingEnv,
  REDIS_URL: RedisUrl.default('redis://127.0.0.1:6379'),
  PORT: PortEnv.default(8080),
  /** the KServe v2 gRPC service (inference.GRPCInferenceService), on HOST */
  GRPC_PORT: PortEnv.default(8081),
  // An IPv6 address with or without its brackets (`::`, `[::]`: both protocols where the host has them).
  HOST: ListenHostEnv.default('127.0.0.1'),
  MODEL_REPOSITORY: z.string().min(1).default('./models'),
  /** how often the model repository is scanned for new, removed or rewritten models and versions; 0 = never (load/unload routes only) */
  MODEL_REPOSITORY_POLL_S: intEnv(0, 3600).default(5),
  /** empty counts as unset (no auth, warned at start-up), so `API_KEYS=` in a compose file cannot hide it */
  API_KEYS: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), ApiKeys.optional()),
  MAX_BODY_MB: numberEnv((n) => n.positive().max(4096)).default(64),
  /** how long finished jobs (and their outputs) stay readable */
  JOB_RETENTION_S: intEnv(60, 90 * 24 * 3600).default(24 * 3600),
  /**
   * longest `?wait=` / `Prefer: wait=` honoured (larger values are clamped); under the 60 s
   * read timeout of nginx, ingress-nginx and cloud load balancers, which would cut a full wait first
   */
  MAX_WAIT_S: intEnv(0, 3600).default(55),
  /** how long a synchronous v2 infer waits before answering 504 (the job goes on); under a proxy's 60 s, as MAX_WAIT_S */
  INFER_TIMEOUT_S: intEnv(1, 3600).default(55),
  /** how long a finished batch and its results stay readable */
  BATCH_RETENTION_S: intEnv(1, 90 * 24 * 3600).default(7 * 24 * 3600),
  /**
   * longest batch line (MB); a longer one ends the upload with 413. A line is parsed in one
   * piece on the API's event loop (about 50 ms a MB here), so this also bounds that pause.
   */
  BATCH_MAX_LINE_MB: numberEnv((n) => n.positive().max(1024)).default(2),
  /** lines one batch may hold (blank ones count) */
  BATCH_MAX_LINES: intEnv(1, 1_000_000_000).default(10_000_000),
  /** bytes one batch upload may bring, after decompression (413 beyond): what one upload may put in Redis */
  BATCH_MAX_MB: numberEnv((n) => n.positive().max(1_048_576)).default(4096),
  /** an upload whose API process stopped renewing its lease this long ago is removed with its chunks */
  UPLOAD_LEASE_S: intEnv(2, 3600).default(30),
  /** longest one request may take to arrive, body included (a large batch upload on a slow link) */
  REQUEST_TIMEOUT_S: intEnv(1, 7 * 24 * 3600).default(3600),
  /** at SIGTERM, requests still open after this (a long upload) are cut: under Kubernetes' grace period */
  SHUTDOWN_GRACE_S: intEnv(1, 3600).default(30),
  /** HTTP connections held at once (0: no cap); a connection past it is closed as soon as it opens, unanswered */
  MAX_CONNECTIONS: intEnv(0, 10_000_000).default(0),
  /** a connection that neither sends nor receives for this long is closed (a stalled upload ends) */
  IDLE_TIMEOUT_S: intEnv(1, 24 * 3600).default(120),
  /**
   * how long a keep-alive connection is kept between two requests: longer than a proxy in
   * front keeps its idle upstream connections (nginx, ingress-nginx, AWS ALB: 60 s), or the
   * proxy sends a request on a connection the API is closing and answers 502; at most IDLE_TIMEOUT_S
   */
  KEEP_ALIVE_TIMEOUT_S: intEnv(1, 24 * 3600).default(65),
  /** requests a second per tenant (API key) beyond which requests get 429; 0 = no limit (TENANT_QUOTAS overrides) */
  RATE_LIMIT_RPS: intEnv(0, 1_000_000).default(0),
  /** rows a tenant may have queued at once, jobs and batch uploads together, beyond which 429; 0 = no limit */
  QUOTA_QUEUED_ROWS: intEnv(0, 1_000_000_000_000).default(0),
  /** priorities below this number (more urgent) are reserved to tenants whose TENANT_QUOTAS min_priority allows them */
  PRIORITY_FLOOR: intEnv(1, 1_000_000).default(1),
  /** per-tenant overrides, JSON: {"acme": {"rps": 100, "queued_rows": 1000000, "min_priority": 1}} */
  TENANT_QUOTAS: TenantQuotasEnv.default({}),
  /** tenants take turns on a shared model (fairness/lanes.ts); auto: on when API_KEYS names two tenants or more */
  FAIR_SHARE: z.enum(['auto', 'on', 'off']).default('auto'),
  /** how often the /admin status page samples the workers' counters (its throughput history: the last 15 minutes) */
  STATUS_SAMPLE_S: intEnv(1, 300).default(10),
  /** memory of this API process's response cache (models with response_cache in config.json); 0: none */
  RESPONSE_CACHE_MB: numberEnv((n) => n.min(0).max(1_048_576)).default(64),
  /** answers of 1 KB or more compressed (br, gzip, deflate) when the request's Accept-Encoding asks; `false` where a proxy in front compresses */
  COMPRESS_RESPONSES: BoolEnv.default(true),
  /** the path prefix clients reach the API under, behind a proxy that strips it (`/ml`): Locations, OpenAPI `servers` and /admin's links carry it; unset: none */
  PUBLIC_PATH: PublicPathEnv.default(''),
  /** origins whose browser pages may call the API (CORS): `*` or a comma list of origins; unset: none */
  CORS_ORIGINS: CorsOriginsEnv,
  /** key for /admin (status page, queue board); unset: /admin is open only while API_KEYS is unset */
  ADMIN_KEY: z.preprocess(
    // Trimmed as API_KEYS' keys are (a secret file's trailing newline); a space inside could never be a Bearer token.
    (v) => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim()) : v),
    z.string().min(16, 'use at least 16 characters').regex(/^\S+$/, 'holds white space, which no Bearer token can carry').optional(),
  ),
  /** queued jobs per model version beyond which new jobs get 429 */
  MAX_QUEUE_DEPTH: intEnv(1, 100_000_000).default(100_000),
  /** `true` lets webhooks target loopback/private addresses (checked at submission for IP literals and localhost) */
  WEBHOOK_ALLOW_PRIVATE: BoolEnv.default(false),
  /** TEST HOOK (e2e only): SIGKILL at this point (@maas/shared test-hooks.ts) */
  MAAS_TEST_DIE_AT: DiePointEnv,
  /** the open mode's (DEFAULT_TENANT's) signing secret; unset, and for every API key's tenant: generated on first use, kept in Redis */
  WEBHOOK_SECRET: WebhookSecretEnv,
  /** how long a rotated-out webhook secret keeps signing beside the new one (e.g. 24h, 30m) */
  WEBHOOK_SECRET_OVERLAP: parsedEnv(parseDuration).default(24 * 3600 * 1000),
}).superRefine((c, ctx) => {
  // Both listen on HOST: the second would fail to bind with a stack trace instead of this line.
  if (c.GRPC_PORT === c.PORT && c.PORT !== 0) ctx.addIssue({ code: 'custom', path: ['GRPC_PORT'], message: `is PORT (${c.PORT}): HTTP and gRPC need a port each` });
  // A long-poll or a v2 infer is silent while it waits: the idle timeout must outlast both.
  if (c.IDLE_TIMEOUT_S <= Math.max(c.MAX_WAIT_S, c.INFER_TIMEOUT_S)) {
    ctx.addIssue({
      code: 'custom', path: ['IDLE_TIMEOUT_S'],
      message: `must exceed MAX_WAIT_S (${c.MAX_WAIT_S}) and INFER_TIMEOUT_S (${c.INFER_TIMEOUT_S}), or waiting requests are cut off`,
    });
  }
  // Open mode answers everyone: with any origin allowed, any web page a developer opens could
  // read its jobs and webhook secret, and load models, through their browser.
  if (c.CORS_ORIGINS === '*' && !c.API_KEYS) {
    ctx.addIssue({ code: 'custom', path: ['CORS_ORIGINS'], message: 'is * while API_KEYS is unset: any web page could use this API through its visitors\' browsers; set API_KEYS, or list the origins you trust' });
  }
  // The placeholders of deploy/k8s/secrets.yaml are public: applied unchanged, they would be everyone's keys.
  if (c.ADMIN_KEY && isPlaceholder(c.ADMIN_KEY)) ctx.addIssue({ code: 'custom', path: ['ADMIN_KEY'], message: 'is a CHANGE-ME placeholder: set a key of your own' });
  if (!c.API_KEYS) {
    // Open mode has one tenant, `default`: any other name is a typo that quotas nobody.
    for (const t of Object.keys(c.TENANT_QUOTAS)) {
      if (t !== DEFAULT_TENANT) ctx.addIssue({ code: 'custom', path: ['TENANT_QUOTAS'], message: `names tenant "${t}", but without API_KEYS every request is tenant "${DEFAULT_TENANT}"` });
    }
    return;
  }
  const placeholders = [...c.API_KEYS].filter(([key]) => isPlaceholder(key)).map(([, tenant]) => tenant);
  if (placeholders.length > 0) ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: `the key of ${placeholders.join(', ')} is a CHANGE-ME placeholder: set keys of your own` });
  const tenants = new Set(c.API_KEYS.values());
  for (const t of Object.keys(c.TENANT_QUOTAS)) {
    if (!tenants.has(t)) ctx.addIssue({ code: 'custom', path: ['TENANT_QUOTAS'], message: `names tenant "${t}", which has no key in API_KEYS (a typo would leave its real tenant unlimited)` });
  }
  if (c.ADMIN_KEY && c.API_KEYS.has(c.ADMIN_KEY)) {
    ctx.addIssue({ code: 'custom', path: ['ADMIN_KEY'], message: 'is also a tenant key: a tenant key must never open /admin' });
  }
});

export type ApiConfig = z.output<typeof ApiEnv>;

const isPlaceholder = (key: string): boolean => /^CHANGE-?ME/i.test(key);

export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  return parseEnv(ApiEnv, env);
}
