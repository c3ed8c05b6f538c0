/**
 * Bodies of the inference routes (`POST /v2/.../infer`, `POST /v1/jobs`), as KServe and Triton
 * clients send them: JSON with or without a Content-Type (their clients send none), or the
 * binary tensor extension when `Inference-Header-Content-Length` is present. Any other
 * Content-Type is a 415, as on every other route.
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { AppError, ValidationError } from '@maas/shared';
import { HEADER_LENGTH, parseBinaryRequest, parseHeaderLength } from '../binary/framing.js';
import { emptyBody, hasBody } from './has-body.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';

const JSON_TYPE = /^application\/(json|[^;\s]+\+json)\s*(;|$)/i;
/** Routes whose clients (KServe, Triton) POST JSON without a Content-Type. */
const INFER_ROUTE = /^\/(v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer|v2\/repository\/(index|models\/[^/]+\/(load|unload))|v1\/jobs)\/?(\?|$)/;

export const isBinaryFramed = (req: IncomingMessage): boolean => req.headers[HEADER_LENGTH.toLowerCase()] !== undefined;

/**
 * For the app-wide JSON parser: a JSON Content-Type, or none on an inference or repository route; never a
 * binary-framed body (its first bytes are JSON, the rest are not).
 */
export function readsAsJson(req: IncomingMessage): boolean {
  if (isBinaryFramed(req)) return false;
  const type = req.headers['content-type'];
  if (type === undefined) return req.method === 'POST' && INFER_ROUTE.test(req.url ?? '');
  return JSON_TYPE.test(type);
}

/**
 * Route middleware: a POST without a body is a 400 that says so; reads a binary-framed body
 * into the JSON header with `BinaryData` inputs; a body nesting deeper than MAX_JSON_DEPTH is a
 * 400 before any recursive code (JSON.stringify, a logger) can meet it.
 */
export function inferBody(maxBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: maxBytes });
  return [
    (req, res, next) => {
      if (!hasBody(req)) return next(emptyBody('a JSON object'));
      if (isBinaryFramed(req)) return raw(req, res, next);
      if (req.headers['content-type'] !== undefined && !JSON_TYPE.test(req.headers['content-type'])) {
        return next(new AppError('unsupported-media-type', `send the body as application/json, or in the binary tensor extension with ${HEADER_LENGTH} (got ${req.headers['content-type']})`));
      }
      next();
    },
    (req, _res, next) => {
      if (!isBinaryFramed(req)) return next();
      const length = parseHeaderLength(String(req.headers[HEADER_LENGTH.toLowerCase()]));
      req.body = parseBinaryRequest(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), length);
      next();
    },
    (req, _res, next) => {
      if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) {
        return next(new ValidationError([{ path: 'body', message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` }]));
      }
      next();
    },
  ];
}
