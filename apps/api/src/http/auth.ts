/**
 * API keys → tenant. With `API_KEYS` unset every request is the `default` tenant (a warning
 * is logged at start-up). A key comes as `Authorization: Bearer <key>`, or as the password of
 * HTTP Basic auth (any user name: tritonclient's BasicAuth plugin, a browser's prompt). Keys are
 * compared by SHA-256 digest, so lookup time does not depend on how much of a guessed key matches.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError, DEFAULT_TENANT, UnauthorizedError } from '@maas/shared';

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

/** PURE: the key a request presents, from Bearer or Basic (password) credentials. */
export function presentedKey(authorization: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** `Authorization` header (or gRPC `authorization` metadata) → tenant; throws UnauthorizedError. */
export function tenantResolver(keys: Map<string, string> | undefined): (authorization: string | undefined) => string {
  const tenantOf = tenantOfKey(keys);
  return (authorization) => {
    if (!keys || keys.size === 0) return DEFAULT_TENANT;
    const key = presentedKey(authorization);
    const tenant = key !== undefined ? tenantOf(key) : undefined;
    if (!tenant) throw key !== undefined ? new UnauthorizedError('API key not recognised', true) : new UnauthorizedError();
    return tenant;
  };
}

/**
 * Whether `rawHeaders` (name, value, name, value…) carry more than one Authorization header.
 * Node keeps the first and drops the others, while a proxy in front may read another: two
 * credentials are refused (RFC 6750 §3.1 `invalid_request`, a 400) rather than one picked.
 */
export function repeatsAuthorization(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return true;
  }
  return false;
}

const twoCredentials = () => new AppError('invalid-input', 'send one Authorization header, not several', {}, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });

/**
 * Refuses a request with two Authorization headers (`repeatsAuthorization`). Mounted, once any
 * key is set (API_KEYS or ADMIN_KEY, so also on tenant routes left open by an unset API_KEYS
 * beside an ADMIN_KEY), before every check of one: /admin, loading and unloading, the admin
 * key's reads and the tenants' routes (app.ts). With neither key set, nothing is read.
 */
export function oneCredential(): RequestHandler {
  return (req, _res, next) => next(repeatsAuthorization(req.rawHeaders) ? twoCredentials() : undefined);
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
