/**
 * Cross-origin requests from browsers (CORS), for the origins `CORS_ORIGINS` names; off while it
 * is unset (no CORS header is sent and a browser keeps other origins' pages out, as before).
 *
 * A preflight (`OPTIONS` with `Access-Control-Request-Method`) from such an origin is answered
 * here, before authentication, since a browser never sends `Authorization` with one; it allows
 * the methods the path is served with (the route table's, as `Allow` lists them) and the
 * request headers the browser asks for (`Authorization`, `Idempotency-Key`, `Prefer`,
 * `Inference-Header-Content-Length`, …: the API reads them whatever the origin), for 10 minutes.
 * Answers to such an origin carry `Access-Control-Allow-Origin` and expose the headers a client
 * reads. No cookie is ever read (a key goes in `Authorization`), so credentials are not allowed.
 * A request from another origin gets no CORS header, whatever its path, and is otherwise served
 * as any request is (the browser, not the API, then keeps its page from the answer); every
 * answer says `Vary: Origin`.
 */
import cors from 'cors';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { AllowedMethods } from './allowed-methods.js';

/** `CORS_ORIGINS`: `*` (any origin) or origins (`https://app.example.com`), comma-separated. */
export type CorsOrigins = '*' | string[];

/**
 * An origin as a browser sends it in `Origin` (scheme://host[:port], lower case, no default
 * port), from `text`; undefined when `text` is not one (a path, a query, a wildcard, no host).
 */
export function originOf(text: string): string | undefined {
  if (text.includes('*')) return undefined; // wildcards inside an origin match nothing: list each
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (!url.host || url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return undefined;
  // An extension's origin (chrome-extension://id) is no "special" scheme: URL.origin says "null".
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
}

/** The env value, read once at start-up; empty is unset (off). */
export const CorsOriginsEnv = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.string().transform((s, ctx): CorsOrigins => {
    if (s.trim() === '*') return '*';
    const listed = s.split(',').map((o) => o.trim()).filter(Boolean);
    if (listed.length === 0) ctx.addIssue({ code: 'custom', message: 'names no origin: list origins (https://app.example.com), or * for any' });
    const origins: string[] = [];
    for (const o of listed) {
      const origin = originOf(o);
      if (origin) origins.push(origin);
      else ctx.addIssue({ code: 'custom', message: `'${o}' is not an origin (scheme://host[:port], no path, no wildcard: list each one): e.g. https://app.example.com` });
    }
    return origins;
  }).optional(),
);

/** Response headers a cross-origin client reads beside the CORS-safelisted ones. */
export const EXPOSED_HEADERS = [
  'Location', 'Retry-After', 'X-Job-Id', 'X-Request-Id', 'Inference-Header-Content-Length',
  'Preference-Applied', 'Idempotent-Replayed', 'Allow', 'WWW-Authenticate',
  'ETag', 'Last-Modified', 'Content-Range', 'Accept-Ranges',
];

/** How long a browser may keep a preflight's answer (s). */
export const PREFLIGHT_MAX_AGE_S = 600;

/** Every method some route takes, for a preflight to a path nothing serves (its request then gets the 404). */
const ANY_METHOD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'];

export function crossOrigin(origins: CorsOrigins, allowed: AllowedMethods): RequestHandler {
  const listed = origins === '*' ? undefined : new Set(origins);
  const handle = cors((req, done) => {
    const origin = req.headers.origin;
    if (origin === undefined || (listed && !listed.has(origin.toLowerCase()))) return done(null, { origin: false });
    done(null, {
      // The origin itself, also for `*` (with `Vary: Origin`): an answer to one origin is never cached for another.
      origin,
      methods: [...(allowed((req as { path?: string }).path ?? '/') ?? ANY_METHOD)],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: PREFLIGHT_MAX_AGE_S,
      optionsSuccessStatus: 204,
      // A plain OPTIONS (no Access-Control-Request-Method) is no preflight: answered with `Allow` as any other (options.ts).
      preflightContinue: req.method === 'OPTIONS' && req.headers['access-control-request-method'] === undefined,
    });
  });
  return (req, res, next) => {
    // Answers differ by Origin (CORS headers or none): a cache must keep them apart.
    res.vary('Origin');
    handle(req, res, next);
  };
}
