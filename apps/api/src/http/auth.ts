/**
 * API keys → tenant. With `API_KEYS` unset every request is the `default` tenant (a warning
 * is logged at start-up). Keys are compared by SHA-256 digest, so lookup time does not
 * depend on how much of a guessed key matches.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { DEFAULT_TENANT, UnauthorizedError } from '@maas/shared';

export { DEFAULT_TENANT };

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

declare module 'express-serve-static-core' {
  interface Request {
    tenant: string;
  }
}

/** An API key → its tenant (undefined for a key not in API_KEYS), looked up by digest. */
export function tenantOfKey(keys: Map<string, string> | undefined): (key: string) => string | undefined {
  const byDigest = new Map([...(keys ?? new Map<string, string>())].map(([key, tenant]) => [digest(key), tenant]));
  return (key) => byDigest.get(digest(key));
}

/** `Authorization` header (or gRPC `authorization` metadata) → tenant; throws UnauthorizedError. */
export function tenantResolver(keys: Map<string, string> | undefined): (authorization: string | undefined) => string {
  const tenantOf = tenantOfKey(keys);
  return (authorization) => {
    if (!keys || keys.size === 0) return DEFAULT_TENANT;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const tenant = m ? tenantOf(m[1]!) : undefined;
    if (!tenant) throw m ? new UnauthorizedError('API key not recognised', true) : new UnauthorizedError();
    return tenant;
  };
}

/** Sets `req.tenant` from its API key, unless a route's own check has (admin-auth.ts `repositoryControlAuth`). */
export function authenticate(keys: Map<string, string> | undefined): RequestHandler {
  const resolve = tenantResolver(keys);
  return (req, _res, next) => {
    if (req.tenant !== undefined) return next();
    try {
      req.tenant = resolve(req.headers.authorization);
    } catch (err) {
      return next(err);
    }
    next();
  };
}
