/**
 * Which answers count as refusals in `maas_requests_refused_total`: a 429 (the request was
 * fine, the service would not take it now), labeled by its problem type and the tenant it was
 * refused to. Counted where a typed error becomes its answer (http/problem.ts), not where each
 * is thrown, so a new 429 type is counted without more code.
 */
import { PROBLEMS, type AppError } from '@maas/shared';

/** The tenant label of a request refused before its key was read (none is, today: auth runs before any 429). */
export const NO_TENANT = 'none';

/**
 * PURE: the labels a refusal of `app` to `tenant` is counted under, or undefined for an answer
 * that is no refusal. `tenant` is a tenant's name from API_KEYS (or `default` without them),
 * never a key: the label's values are bounded by the configuration.
 */
export function refusalOf(app: AppError, tenant: string | undefined): { reason: string; tenant: string } | undefined {
  return PROBLEMS[app.type].status === 429 ? { reason: app.type, tenant: tenant ?? NO_TENANT } : undefined;
}
