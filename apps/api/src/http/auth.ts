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

export function authenticate(keys: Map<string, string> | undefined): RequestHandler {
  const byDigest = new Map([...(keys ?? new Map<string, string>())].map(([key, tenant]) => [digest(key), tenant]));
  return (req, _res, next) => {
    if (!keys || keys.size === 0) {
      req.tenant = DEFAULT_TENANT;
      return next();
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const tenant = m ? byDigest.get(digest(m[1]!)) : undefined;
    if (!tenant) return next(new UnauthorizedError(m ? 'API key not recognised' : undefined));
    req.tenant = tenant;
    next();
  };
}
