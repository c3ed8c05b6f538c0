/**
 * Request JSON whose INT64/UINT64 values past 2^53 are read exactly. `JSON.parse` reads
 * 9007199254740993 as 9007199254740992, and an INT64 input past 2^53 (a hashed feature id, as
 * Triton and tritonclient carry them in JSON) needs the integer its client wrote. So a body
 * whose text holds an integer of 16 digits or more (`hasLongInteger`: one regular-expression
 * pass, and most bodies hold none) is read again by lossless-json, with each integer past 2^53
 * in the request's tensor values as a BigInt, which encodeValues stores exactly (and reads as
 * `JSON.parse` would into the other datatypes). Everywhere else (shapes, ids, parameters,
 * metadata) such an integer is the number `JSON.parse` makes of it, so nothing downstream meets
 * a BigInt it cannot write.
 *
 * Tensor values are `inputs[i].data` (KServe v2 requests, `/v1/jobs`, the binary extension's
 * header; http/tensor-json.ts reads a large body's `data` with `readTensorDataJson`) and
 * `inputs.<name>` (a batch file's compact lines).
 */
import { parse } from 'lossless-json';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http/json-depth.js';

/**
 * An integer token of 16 digits or more (the shortest past 2^53 has 16): not preceded by a
 * digit, `.`, an exponent's `e`, or a sign after one, and not followed by a digit, `.` or an
 * exponent. A string that holds such digits also matches, which costs only the second reading.
 */
const LONG_INTEGER = /(?:^|[^0-9.eE+-])-?[0-9]{16,}(?![0-9.eE])/;

/** Whether `text` may hold an integer past 2^53 (`readRequestJson` then reads it exactly). */
export const hasLongInteger = (text: string): boolean => LONG_INTEGER.test(text);

/** A number token as `JSON.parse` reads it, unless it is an integer past 2^53: then exactly, a BigInt. */
function parseNumber(token: string): number | bigint {
  const n = Number(token);
  return Number.isSafeInteger(n) || !/^-?[0-9]+$/.test(token) ? n : BigInt(token);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `v` with every BigInt made the number JSON.parse makes of its digits. */
function asParsed(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = asParsed(v[i]);
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) v[k] = asParsed(v[k]);
  }
  return v;
}

/** Tensor values keep their BigInts (nested lists included); everything else is read as JSON.parse reads it. */
function keepTensorValues(body: unknown): unknown {
  if (!isObject(body) || Array.isArray(body)) return asParsed(body);
  for (const k of Object.keys(body)) {
    const v = body[k];
    if (k !== 'inputs') body[k] = asParsed(v);
    else if (Array.isArray(v)) {
      for (const t of v) {
        if (!isObject(t) || Array.isArray(t)) continue;
        for (const tk of Object.keys(t)) if (tk !== 'data' || !Array.isArray(t[tk])) t[tk] = asParsed(t[tk]);
      }
    } else if (isObject(v)) {
      for (const name of Object.keys(v)) if (!Array.isArray(v[name])) v[name] = asParsed(v[name]);
    }
  }
  return body;
}

/**
 * `parsed` (what `JSON.parse` made of `text`), or, when `text` holds an integer past 2^53,
 * `text` read again with such integers in tensor values exact. `parsed` as it is when the
 * second reading fails (it nests too deep for a recursive reader: the depth check refuses it).
 */
export function withExactIntegers(text: string, parsed: unknown): unknown {
  if (!hasLongInteger(text) || nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return parsed;
  try {
    // Duplicate keys: the last one counts, as in JSON.parse.
    return keepTensorValues(parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue }));
  } catch {
    return parsed;
  }
}

/** A tensor's `data` alone: `JSON.parse(text)`, every integer past 2^53 in it exact. Throws as JSON.parse does. */
export function readTensorDataJson(text: string): unknown {
  const parsed = JSON.parse(text) as unknown;
  if (!hasLongInteger(text) || nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return parsed;
  return parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
}

/** `JSON.parse(text)`, integers past 2^53 in tensor values exact (withExactIntegers). Throws as JSON.parse does. */
export function readRequestJson(text: string): unknown {
  return withExactIntegers(text, JSON.parse(text));
}
