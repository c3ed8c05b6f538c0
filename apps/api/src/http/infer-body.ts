/**
 * Bodies of the inference routes (`POST /v2/.../infer`, `POST /v1/jobs`), as KServe and Triton
 * clients send them: JSON with or without a Content-Type (their clients send none), or the
 * binary tensor extension when `Inference-Header-Content-Length` is present. On these routes and
 * Triton's repository routes, the types a client library sends when it was given a body and no
 * type are read as JSON too, as Triton reads any body (`DEFAULT_TYPE`: `curl -d`, Python's
 * urllib and libcurl send `application/x-www-form-urlencoded`, `fetch` of a string
 * `text/plain`). Any other Content-Type is a 415, as on every other route.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { AppError } from '@maas/shared';
import { HEADER_LENGTH, parseBinaryRequest, parseHeaderLength } from '../binary/framing.js';
import { emptyBody, hasBody } from './has-body.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, refusedBeforeParse, tooDeep } from './json-bounds.js';
import { notJson } from './problem.js';
import { readTensorJson } from './tensor-json.js';
import { readRequestJson, withExactIntegers } from '../json/request-json.js';
import { series } from './compose.js';
import { targetPath } from './target-path.js';

const JSON_TYPE = /^application\/(json|[^;\s]+\+json)\s*(;|$)/i;
/** What clients send for a body they were given no type for (see the top): JSON on the inference and repository routes. */
const DEFAULT_TYPE = /^(application\/x-www-form-urlencoded|text\/plain)\s*(;|$)/i;
/** Routes whose clients (KServe, Triton) POST JSON without a Content-Type (letters in any case, as express routes them). */
const INFER_ROUTE = /^\/(v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer|v2\/repository\/(index|models\/[^/]+\/(load|unload))|v1\/jobs)\/?$/i;


const HEADER_LENGTH_KEY = HEADER_LENGTH.toLowerCase();
export const isBinaryFramed = (req: IncomingMessage): boolean => req.headers[HEADER_LENGTH_KEY] !== undefined;

/** A JSON body at least this large on an inference route is read by tensor-json.ts (see `readsTensorJson`). */
export const TENSOR_JSON_MIN_BYTES = 64 * 1024;
const TENSOR_JSON_ROUTE = /^\/(v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer|v1\/jobs)\/?$/i;
/** A type tensor-json.ts may read a body of: JSON's or a client's default (the route has been checked), in UTF-8. */
const UTF8_JSON_TYPE = /^(application\/json|application\/x-www-form-urlencoded|text\/plain)\s*(;\s*charset="?utf-8"?\s*)?$/i;

/**
 * Whether an inference request's JSON body is read by tensor-json.ts (FP32 data straight into
 * bytes) instead of the app-wide JSON parser: a POST to a v2 infer route or `/v1/jobs`, of at
 * least TENSOR_JSON_MIN_BYTES by its Content-Length, not compressed, UTF-8 JSON (or no
 * Content-Type), without an Idempotency-Key (whose fingerprint is of the request as JSON.parse
 * reads it). Everything else is read as before.
 */
export function readsTensorJson(req: IncomingMessage): boolean {
  // Asked of every JSON request (the app-wide parser's type check): the size first, which rules out most.
  if (!(Number(req.headers['content-length']) >= TENSOR_JSON_MIN_BYTES)) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
  return tensorJsonMayRead(req);
}

/** The rest of `readsTensorJson`, asked again of a compressed body once decompressed (its size is known then). */
export function tensorJsonMayRead(req: IncomingMessage, size = Number(req.headers['content-length'])): boolean {
  if (!(size >= TENSOR_JSON_MIN_BYTES)) return false;
  if (req.method !== 'POST' || isBinaryFramed(req) || req.headers['idempotency-key'] !== undefined) return false;
  const type = req.headers['content-type'];
  if (type !== undefined && !UTF8_JSON_TYPE.test(type)) return false;
  return TENSOR_JSON_ROUTE.test(targetPath(req));
}

/**
 * A JSON body read whole as bytes (a request `readsTensorJson` takes, or a compressed one once
 * decompressed: compressed-body.ts): tensor-json.ts's reading, else `JSON.parse`'s (an object
 * or a list at the top, as the app-wide parser is strict; integers past 2^53 in tensor values
 * exact), its error a 400 as that parser's would be. UTF-8 (another charset was refused before
 * the body was read: `refuseCharset`); `tensors`: whether tensor-json.ts may read it (for the
 * requests it would read uncompressed: `readsTensorJson`), else `JSON.parse` alone.
 */
export function parseJsonBytes(bytes: Buffer, tensors = true): unknown {
  if (!isUtf8(bytes)) throw notJson(NOT_UTF8);
  // tensor-json.ts hands JSON.parse only values it has skipped, and skips none nested past the
  // limit (the exact limit is checked on what it read: refuseDeepJson); anything it does not
  // read is scanned here before JSON.parse sees it (json-bounds.ts). A 3 MB image's data is never scanned.
  const fast = tensors ? readTensorJson(bytes) : undefined;
  if (fast) return fast;
  const refusal = refusedBeforeParse(bytes);
  if (refusal) throw refusal;
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark, as the app-wide parser drops it
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw notJson('a JSON object or array was expected');
  try {
    return readRequestJson(text);
  } catch (err) {
    throw notJson((err as Error).message);
  }
}

/** UTF-8, by its name or the `utf8` label clients also send (WHATWG Encoding lists it; it was taken before). */
const isUtf8Charset = (charset: string): boolean => /^utf-?8$/i.test(charset);

/** The charset of a Content-Type, lower-cased; undefined when none is given. */
export function charsetOf(type: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type ?? '')?.[1]?.toLowerCase();
}

/**
 * A 415 for a body of `type` in another charset than UTF-8, which JSON is (RFC 8259 §8.1) and
 * NDJSON's lines are, or undefined (UTF-8, or no charset given). `what` names the body. One rule
 * for every JSON body, compressed or not, and batch lines: charset=utf-8, or none.
 */
export function charsetRefusal(type: string | undefined, what: string): AppError | undefined {
  const charset = charsetOf(type);
  if (charset === undefined || isUtf8Charset(charset)) return undefined;
  return new AppError('unsupported-media-type', `${what} UTF-8 (RFC 8259 §8.1): send it so, with charset=utf-8 or none (got charset=${charset})`);
}

/**
 * A JSON body in another charset is a 415 before a byte of it is read (and without the 100 of
 * `Expect: 100-continue`), whichever parser would read it: the app-wide one, compressed-body.ts's
 * or tensor-json.ts.
 */
export const refuseCharset: RequestHandler = (req, _res, next) => {
  if (!readsAsJson(req)) return next();
  const type = req.headers['content-type'];
  const refusal = charsetRefusal(type, 'JSON is');
  // The `utf8` label, spelt as UTF-8's name for the parsers (body-parser takes only `utf-…`).
  if (!refusal && type && charsetOf(type) === 'utf8') req.headers['content-type'] = type.replace(/(charset\s*=\s*"?)utf8/i, '$1utf-8');
  next(refusal);
};

/** Inference bodies the app-wide JSON parser read, until `readExactIntegers` has looked at them. */
const jsonBodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * The app-wide JSON parser's `verify`:
 * - a body whose bytes are not UTF-8 is a 400, as JSON must be (RFC 8259 §8.1; its charset is
 *   UTF-8 or none: `refuseCharset`), rather than read with U+FFFD in their place (an `id` or a
 *   key then comes back altered);
 * - an inference request's bytes are kept for `readExactIntegers`.
 */
export function verifyJsonBody(req: IncomingMessage, _res: unknown, body: Buffer): void {
  // Thrown as the parser's own error (entity.parse.failed: a 400 malformed-json, problem.ts).
  if (!isUtf8(body)) throw Object.assign(new Error(NOT_UTF8), { type: 'entity.parse.failed' });
  // Before JSON.parse, which would take seconds and gigabytes over millions of brackets (json-bounds.ts).
  const refusal = refusedBeforeParse(body);
  if (refusal) throw refusal;
  if (req.method === 'POST' && TENSOR_JSON_ROUTE.test(targetPath(req))) jsonBodies.set(req, body);
}

/**
 * After the app-wide JSON parser: an inference body whose tensor values hold a number past
 * 2^53 is read again from its bytes, such integers exact (json/request-json.ts); the bytes
 * are let go either way.
 */
export function readExactIntegers(req: IncomingMessage & { body?: unknown }): void {
  const kept = jsonBodies.get(req);
  if (!kept) return;
  jsonBodies.delete(req);
  // TextDecoder drops a byte order mark, as the parser did.
  req.body = withExactIntegers(req.body, () => new TextDecoder().decode(kept));
}

const NOT_UTF8 = 'it is not UTF-8 text (RFC 8259 §8.1)';

/**
 * For the app-wide JSON parser: a JSON Content-Type, or on an inference or repository route none
 * or a client's default (`DEFAULT_TYPE`); never a binary-framed body (its first bytes are JSON,
 * the rest are not).
 */
export function readsAsJson(req: IncomingMessage): boolean {
  if (isBinaryFramed(req)) return false;
  const type = req.headers['content-type'];
  if (type !== undefined && JSON_TYPE.test(type)) return true;
  return (type === undefined || DEFAULT_TYPE.test(type)) && req.method === 'POST' && INFER_ROUTE.test(targetPath(req));
}

/**
 * Route middleware: a POST without a body is a 400 that says so; reads a binary-framed body
 * into the JSON header with `BinaryData` inputs, and a large JSON one with tensor-json.ts
 * (`readsTensorJson`); a body nesting deeper than MAX_JSON_DEPTH is a 400 (`refuseDeepJson`).
 */
export function inferBody(maxBytes: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: maxBytes });
  return series(
    (req, res, next) => {
      if (!hasBody(req)) return next(emptyBody('a JSON object'));
      if (isBinaryFramed(req)) return raw(req, res, next);
      if (readsTensorJson(req)) {
        return raw(req, res, (err?: unknown) => {
          if (err) return next(err);
          try {
            req.body = parseJsonBytes(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
          } catch (e) {
            return next(e);
          }
          next();
        });
      }
      const type = req.headers['content-type'];
      if (type !== undefined && !JSON_TYPE.test(type) && !DEFAULT_TYPE.test(type)) {
        return next(new AppError('unsupported-media-type', `send the body as application/json, or in the binary tensor extension with ${HEADER_LENGTH} (got ${req.headers['content-type']})`));
      }
      next();
    },
    (req, _res, next) => {
      if (!isBinaryFramed(req)) return next();
      const length = parseHeaderLength(String(req.headers[HEADER_LENGTH_KEY]));
      req.body = parseBinaryRequest(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), length);
      next();
    },
    // Only the bodies read here: the app-wide parser's (and compressed-body.ts's) were checked after it (app.ts).
    (req, res, next) => (isBinaryFramed(req) || readsTensorJson(req) ? refuseDeepJson(req, res, next) : next()),
  );
}

/**
 * A JSON body nesting deeper than MAX_JSON_DEPTH is a 400, before any recursive code
 * (JSON.stringify, a logger) can meet it: for every route, after the app-wide parser, and for
 * the inference routes again once they have read their bodies (`inferBody`).
 */
export const refuseDeepJson: RequestHandler = (req, _res, next) => {
  if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) return next(tooDeep());
  next();
};
