/**
 * `PUBLIC_PATH`: the path prefix under which clients reach the API, for a proxy that serves it
 * under one (`/ml/…`) and strips the prefix before passing requests on. Routes stay where they
 * are; only what the API hands out is prefixed: `Location` headers, the OpenAPI document's
 * `servers`, the admin pages' links, fetches and the queue board's `<base>`. Unset (empty): no
 * prefix, as before. Never read from `X-Forwarded-Prefix`: any client could send one.
 */
import { z } from 'zod';

/** A path segment: RFC 3986 pchar without `&` and `'`, so the prefix goes into HTML and scripts unescaped. */
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$()*+,;=:@]|%[0-9A-Fa-f]{2})+$/;

/** The env value, read once at start-up: `/ml` (a trailing slash is dropped; `/` alone is no prefix). */
export const PublicPathEnv = z.string().transform((s, ctx) => {
  const path = s.trim().replace(/\/$/, '');
  const fail = (why: string) => {
    ctx.addIssue({ code: 'custom', message: `${why}: a path such as /ml, the prefix your proxy strips` });
    return z.NEVER;
  };
  if (path === '') return '';
  if (!path.startsWith('/')) return fail('must start with /');
  if (/[?#]/.test(path)) return fail('holds a query or fragment');
  const segments = path.slice(1).split('/');
  // `//host` at the start would make every Location another site's (a protocol-relative URL).
  if (segments.some((g) => g === '')) return fail('holds an empty segment (//)');
  // As a browser reads them: `%2e` is a dot (`/ml/%2e%2e` is `..`), `%2f` a slash.
  const read = segments.map((g) => g.replace(/%2e/gi, '.'));
  if (read.some((g) => g === '.' || g === '..')) return fail('holds a . or .. segment');
  if (segments.some((g) => /%2f|%5c/i.test(g))) return fail('holds an escaped slash (%2F, %5C)');
  if (!segments.every((g) => SEGMENT.test(g))) return fail("may hold only letters, digits, %XX escapes and - . _ ~ ! $ ( ) * + , ; = : @");
  return path;
});
