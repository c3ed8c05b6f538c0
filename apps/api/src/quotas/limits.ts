/**
 * PURE: what each tenant may do — requests a second, rows queued at once (jobs and batch
 * uploads together), and the most urgent priority it may ask for.
 *
 * Defaults come from RATE_LIMIT_RPS, QUOTA_QUEUED_ROWS and PRIORITY_FLOOR; TENANT_QUOTAS
 * (JSON) overrides them per tenant. Priorities follow BullMQ: a lower number runs first, so a
 * floor of 50 reserves 1–49 to tenants whose `min_priority` allows them.
 */
import { z } from 'zod';
import { ForbiddenError } from '@maas/shared';

/** One tenant's overrides in TENANT_QUOTAS; 0 means "no limit" for rps and queued_rows. */
export const TenantQuota = z
  .object({
    rps: z.number().int().min(0).max(1_000_000).optional(),
    queued_rows: z.number().int().min(0).max(1_000_000_000_000).optional(),
    min_priority: z.number().int().min(1).optional(),
  })
  .strict();

/** `TENANT_QUOTAS={"acme":{"rps":100,"queued_rows":1000000,"min_priority":1}}`; empty = none. */
export const TenantQuotasEnv = z
  .string()
  .transform((s, ctx) => {
    if (s.trim() === '') return {};
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: {"tenant": {"rps": n, "queued_rows": n, "min_priority": n}}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tenant name'), TenantQuota));

export type TenantQuotas = z.output<typeof TenantQuotasEnv>;

export interface QuotaDefaults {
  /** requests a second per tenant; 0 = no limit */
  rps: number;
  /** rows queued per tenant; 0 = no limit */
  queuedRows: number;
  /** priorities below this are reserved to tenants with a lower `min_priority` */
  priorityFloor: number;
}

export interface TenantLimits {
  rps: number;
  queuedRows: number;
  /** the most urgent priority this tenant may use */
  minPriority: number;
}

export function limitsFor(tenant: string, defaults: QuotaDefaults, overrides: TenantQuotas): TenantLimits {
  const o = overrides[tenant] ?? {};
  return {
    rps: o.rps ?? defaults.rps,
    queuedRows: o.queued_rows ?? defaults.queuedRows,
    minPriority: o.min_priority ?? defaults.priorityFloor,
  };
}

/** True when any tenant can have a queued-rows limit (the ledger is only kept then). */
export const rowsLimited = (defaults: QuotaDefaults, overrides: TenantQuotas): boolean =>
  defaults.queuedRows > 0 || Object.values(overrides).some((o) => (o.queued_rows ?? 0) > 0);

/**
 * PURE: the start-up warning for tenants that share Redis with no cap on what each may queue
 * (`tenants`: API_KEYS' tenants), or undefined: with two tenants or more, one without a
 * queued-rows quota can fill Redis for all (a security audit: a 1.3 MB gzip upload put 164 MB
 * in Redis, 125 times its size, and BATCH_MAX_MB lets one upload bring gigabytes).
 */
export function sharedRedisWarning(tenants: readonly string[], limits: (tenant: string) => TenantLimits, batchMaxMb: number): string | undefined {
  const unlimited = [...new Set(tenants)].filter((t) => limits(t).queuedRows === 0).sort();
  if (new Set(tenants).size < 2 || unlimited.length === 0) return undefined;
  const named = unlimited.length > 5 ? `${unlimited.slice(0, 5).join(', ')} and ${unlimited.length - 5} more` : unlimited.join(', ');
  return `tenants ${named} have no queued-rows quota (QUOTA_QUEUED_ROWS, TENANT_QUOTAS): any of them can fill the Redis every tenant shares (one batch upload may bring BATCH_MAX_MB = ${batchMaxMb} MB once decompressed); see the README's "Serving tenants you do not trust"`;
}

/** Throws a 403 when `priority` is more urgent than the tenant may ask for. */
export function checkPriority(tenant: string, priority: number | undefined, limits: TenantLimits): void {
  if (priority !== undefined && priority < limits.minPriority) {
    throw new ForbiddenError(`priority ${priority} is reserved; tenant ${tenant} may use ${limits.minPriority} or higher (lower numbers run first)`);
  }
}
