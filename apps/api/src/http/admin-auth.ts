/**
 * Who may open `/admin/*` (the status page and the queue board show every tenant's work):
 * the holder of ADMIN_KEY, as `Authorization: Bearer <key>` or as the password of HTTP Basic
 * auth (what a browser prompts for; any user name). Without ADMIN_KEY, /admin is open while
 * API_KEYS is unset (one trusted tenant) and closed (403) once it is set. A tenant key never
 * opens it. Keys are compared by SHA-256 digest in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError, ForbiddenError } from '@maas/shared';

const digest = (s: string) => createHash('sha256').update(s).digest();

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

export function adminAuth(adminKey: string | undefined, tenantKeysSet: boolean): RequestHandler {
  const expected = adminKey ? digest(adminKey) : undefined;
  return (_req, _res, next) => {
    if (!expected) {
      if (!tenantKeysSet) return next();
      return next(new ForbiddenError('/admin is closed: set ADMIN_KEY to open it (a tenant key never does)'));
    }
    const key = presentedKey(_req.headers.authorization);
    if (key !== undefined && timingSafeEqual(digest(key), expected)) return next();
    next(new AppError('unauthorized', 'the admin key is required (Bearer, or the password of Basic auth)', {}, {
      headers: { 'WWW-Authenticate': 'Basic realm="maas admin", charset="UTF-8"' },
    }));
  };
}
