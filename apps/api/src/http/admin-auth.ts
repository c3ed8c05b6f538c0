/**
 * Who may open `/admin/*` (the status page and the queue board show every tenant's work):
 * the holder of ADMIN_KEY, as `Authorization: Bearer <key>` or as the password of HTTP Basic
 * auth (what a browser prompts for; any user name). Without ADMIN_KEY, /admin is open while
 * API_KEYS is unset (one trusted tenant) and closed once it is set (403; 401 to a request with no key). A tenant key never
 * opens it. Keys are compared by SHA-256 digest in constant time. Loading and unloading models
 * are guarded the same way (`repositoryControl`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError, ForbiddenError } from '@maas/shared';
import { presentedKey, tenantOfKey } from './auth.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * PURE: what a request presenting `authorization` may do of what ADMIN_KEY guards: `admin`
 * (it presents ADMIN_KEY), `open` (no ADMIN_KEY, no API_KEYS: one trusted tenant), or the
 * error to answer: 403 once API_KEYS is set without ADMIN_KEY (`closed` says what is; 401
 * without any key), 401 for any other key (a tenant key is `tenantKey`'s to word, when given).
 */
export function adminAccess(
  adminKey: string | undefined,
  tenantKeysSet: boolean,
  closed: string,
  tenantKey?: (key: string) => AppError | undefined,
): (authorization: string | undefined) => 'admin' | 'open' | AppError {
  const admin = isAdminKey(adminKey);
  return (authorization) => {
    if (!adminKey) {
      if (!tenantKeysSet) return 'open';
      // No key at all is a 401, as everywhere keys are set (CONTRACT §4); a key, a 403 that says why none opens it.
      if (authorization === undefined) return new AppError('unauthorized', `a key is required; ${closed}: set ADMIN_KEY to open it`, {}, { headers: { 'WWW-Authenticate': 'Bearer' } });
      return new ForbiddenError(`${closed}: set ADMIN_KEY to open it (a tenant key never does)`);
    }
    if (admin(authorization)) return 'admin';
    const key = presentedKey(authorization);
    return (key !== undefined ? tenantKey?.(key) : undefined) ?? new AppError('unauthorized', 'the admin key is required (Bearer, or the password of Basic auth)', {}, {
      headers: { 'WWW-Authenticate': 'Basic realm="maas admin", charset="UTF-8"' },
    });
  };
}

export function adminAuth(adminKey: string | undefined, tenantKeysSet: boolean): RequestHandler {
  const access = adminAccess(adminKey, tenantKeysSet, '/admin is closed');
  return (req, _res, next) => {
    const a = access(req.headers.authorization);
    next(a instanceof AppError ? a : undefined);
  };
}

/** The tenant a request made with ADMIN_KEY counts as (its rate limit) on the routes it opens beside /admin. */
export const ADMIN_TENANT = 'admin-key';

/**
 * Who may load and unload models (Triton's repository extension, over REST and gRPC): they
 * change a model for every tenant, so they are what ADMIN_KEY guards, as /admin is. Open while
 * neither key is set (as Triton's are); with ADMIN_KEY, only it; with API_KEYS but no
 * ADMIN_KEY, nobody. A tenant's key is a 403 that says why. `admin`: the request presented
 * ADMIN_KEY, and counts as ADMIN_TENANT.
 */
export function repositoryControl(adminKey: string | undefined, apiKeys: Map<string, string> | undefined): (authorization: string | undefined) => 'admin' | 'open' | AppError {
  const tenantOf = tenantOfKey(apiKeys);
  return adminAccess(adminKey, (apiKeys?.size ?? 0) > 0, 'loading and unloading models is closed', (key) => (tenantOf(key) !== undefined
    ? new ForbiddenError('a tenant key cannot load or unload a model: that changes it for every tenant (use ADMIN_KEY)')
    : undefined));
}

/**
 * Route middleware for the load and unload routes, mounted before tenant authentication: the
 * refusal of `repositoryControl`, or, for ADMIN_KEY, the request made ADMIN_TENANT's (which
 * `authenticate` then leaves as it is).
 */
export function repositoryControlAuth(adminKey: string | undefined, apiKeys: Map<string, string> | undefined): RequestHandler {
  const access = repositoryControl(adminKey, apiKeys);
  return (req, _res, next) => {
    const a = access(req.headers.authorization);
    if (a instanceof AppError) return next(a);
    if (a === 'admin') req.tenant = ADMIN_TENANT;
    next();
  };
}

/** PURE: whether `authorization` presents ADMIN_KEY (never, when it is unset). */
export function isAdminKey(adminKey: string | undefined): (authorization: string | undefined) => boolean {
  const expected = adminKey ? digest(adminKey) : undefined;
  return (authorization) => {
    const key = expected ? presentedKey(authorization) : undefined;
    return key !== undefined && timingSafeEqual(digest(key), expected!);
  };
}

/** A GET, or the HEAD express serves with it. */
const isRead = (req: Request): boolean => req.method === 'GET' || req.method === 'HEAD';

/**
 * Model reads over REST: metadata, readiness, configuration, statistics, the listings and the
 * repository index. Paths match in any case, as express routes them.
 */
export const isModelRead = (req: Request): boolean =>
  (isRead(req) && /^\/(v2(\/models(\/[^/]+(\/versions\/[^/]+)?)?(\/(ready|config|stats))?)?|v1\/models(\/[^/]+)?)\/?$/i.test(req.path))
  || (req.method === 'POST' && /^\/v2\/repository\/index\/?$/i.test(req.path));

/** `GET /metrics` (what a scraper, Prometheus or KEDA, reads) and `GET /openapi.json`: with ADMIN_KEY as well as a tenant key. */
export const isOperationsRead = (req: Request): boolean => isRead(req) && /^\/(metrics|openapi\.json)\/?$/i.test(req.path);

/**
 * Mounted before tenant authentication: what an operator loads with ADMIN_KEY it may read with
 * it too (tritonclient's `load_model`, then `is_model_ready` or `get_model_repository_index`,
 * on one client), so a model read presenting ADMIN_KEY counts as ADMIN_TENANT; and so may a
 * scrape of /metrics and a read of /openapi.json (an operator's key, not a tenant's). Its jobs and batches stay its tenants'
 * alone: on any other route ADMIN_KEY is a 403 that says so (the key is known, only not a
 * tenant's: a 401 `invalid_token` told the operator the key was wrong).
 */
export function adminReadsModels(adminKey: string | undefined): RequestHandler {
  const admin = isAdminKey(adminKey);
  return (req, _res, next) => {
    // Loading and unloading were let through by their own check (repositoryControlAuth).
    if (req.tenant !== undefined || !admin(req.headers.authorization)) return next();
    if (isModelRead(req) || isOperationsRead(req)) {
      req.tenant = ADMIN_TENANT;
      return next();
    }
    next(ADMIN_KEY_RUNS_NOTHING());
  };
}

/** The admin key where a tenant's is needed (REST and gRPC). */
export const ADMIN_KEY_RUNS_NOTHING = (): ForbiddenError =>
  new ForbiddenError("ADMIN_KEY reads models and metrics and opens /admin; it runs no job and sees no tenant's: use a tenant's key");
