/**
 * JSON request bodies of the routes that take one (`/v1/jobs`, v2 infer). A request without a
 * body is a 400 that says so (not a 415 naming the very type it sent: type-is matches no type
 * when there is no body). A body without `Content-Type` is read as JSON (CONTRACT §4: KServe
 * clients send none); another type is a 415. A body nesting deeper than MAX_JSON_DEPTH is a
 * 400 before any recursive code (JSON.stringify, a logger) can meet it.
 */
import express, { type Request, type RequestHandler } from 'express';
import { AppError, ValidationError } from '@maas/shared';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';

export const JSON_TYPES = ['application/json', 'application/*+json'];

/** True when the request carries a body: chunked, or a Content-Length above zero. */
export function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/** The 400 for a POST that needs a body and has none. */
export const emptyBody = (what: string) => new ValidationError([{ path: 'body', message: `the request has no body: send ${what}` }]);

/** express.json for typed bodies, installed once app-wide (see app.ts). */
export const parseTypedJson = (maxBytes: number): RequestHandler => express.json({ limit: maxBytes, type: JSON_TYPES });

/** Route guard: a JSON body is present, parsed (untyped ones too) and not too deep. */
export function requireJson(maxBytes: number): RequestHandler {
  const parseUntyped = express.json({ limit: maxBytes, type: () => true });
  const checkDepth: RequestHandler = (req, _res, next) => {
    if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) {
      return next(new ValidationError([{ path: 'body', message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` }]));
    }
    next();
  };
  return (req, res, next) => {
    if (!hasBody(req)) return next(emptyBody('a JSON object'));
    if (!req.headers['content-type']) return parseUntyped(req, res, (err?: unknown) => (err ? next(err) : checkDepth(req, res, next)));
    if (!req.is(JSON_TYPES)) {
      return next(new AppError('unsupported-media-type', `send the body as application/json (got ${req.get('Content-Type')})`));
    }
    checkDepth(req, res, next);
  };
}
