/**
 * Request JSON whose INT64/UINT64 values past 2^53 are read exactly. `JSON.parse` reads
 * 9007199254740993 as 9007199254740992, and an INT64 input past 2^53 (a hashed feature id, as
 * Triton and tritonclient carry them in JSON) needs the integer its client wrote.
 *
 * A body is read by `JSON.parse` as ever; only when its tensor values hold a number of
 * magnitude 2^53 or more (`pastSafeIntegers`: a walk over the values, which the request checks
 * make anyway, and no scan of the text) is its text read again, by lossless-json, with each
 * integer past 2^53 in the tensor values a BigInt. encodeValues stores those exactly into
 * INT64/UINT64 (and reads them as `JSON.parse` would into the other datatypes). Everywhere
 * else (shapes, ids, parameters, metadata) such an integer is the number `JSON.parse` makes of
 * it, so nothing downstream meets a BigInt it cannot write.
 *
 * Tensor values are `inputs[i].data` (KServe v2 requests, `/v1/jobs`, the binary extension's
 * header; http/tensor-json.ts reads a large body's `data` alone with `readTensorDataJson`) and
 * `inputs.<name>` (a batch file's compact lines).
 */
import { parse } from 'lossless-json';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http/json-bounds.js';

const SAFE = 2 ** 53;

/**
 * Whether `values` (nested lists included) hold a number of magnitude 2^53 or more: written as
 * an integer in digits, JSON.parse has rounded it. Walked with a stack of our own, so values
 * nested too deep (which the depth check refuses) overflow nothing.
 */
function holdsPastSafe(values: unknown): boolean {
  if (!Array.isArray(values)) return false;
  const stack: unknown[][] = [values];
  while (stack.length > 0) {
    const list = stack.pop()!;
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (typeof v === 'number') {
        if (v >= SAFE || v <= -SAFE) return true;
      } else if (Array.isArray(v)) {
        stack.push(v);
      }
    }
  }
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The tensor values of a request or batch line: each `inputs[i].data`, or each `inputs.<name>`. */
function tensorValues(body: unknown): unknown[] {
  const inputs = isObject(body) ? body['inputs'] : undefined;
  if (Array.isArray(inputs)) return inputs.map((t) => (isObject(t) ? t['data'] : undefined));
  return isObject(inputs) ? Object.values(inputs) : [];
}

/** Whether a parsed request's tensor values hold a number JSON.parse may have rounded (an integer past 2^53). */
export const pastSafeIntegers = (body: unknown): boolean => tensorValues(body).some(holdsPastSafe);

/** A number token as `JSON.parse` reads it, unless it is an integer past 2^53: then exactly, a BigInt. */
function parseNumber(token: string): number | bigint {
  const n = Number(token);
  return Number.isSafeInteger(n) || !/^-?[0-9]+$/.test(token) ? n : BigInt(token);
}

/** lossless-json's reading: integers past 2^53 as BigInts; duplicate keys as JSON.parse takes them (the last counts). */
const readExact = (text: string): unknown => parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });

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
 * `parsed` (what `JSON.parse` made of `text()`), or, when its tensor values hold a number past
 * 2^53, `text` read again with such integers there exact. `parsed` as it is when it nests
 * too deep for a recursive reader (the depth check refuses it) or the second reading fails.
 */
export function withExactIntegers(parsed: unknown, text: () => string): unknown {
  if (!pastSafeIntegers(parsed) || nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return parsed;
  try {
    return keepTensorValues(readExact(text()));
  } catch {
    return parsed;
  }
}

/** `JSON.parse(text)`, integers past 2^53 in tensor values exact (withExactIntegers). Throws as JSON.parse does. */
export function readRequestJson(text: string): unknown {
  return withExactIntegers(JSON.parse(text), () => text);
}

/** A tensor's `data` alone: `JSON.parse(text)`, every integer past 2^53 in it exact. Throws as JSON.parse does. */
export function readTensorDataJson(text: string): unknown {
  const parsed = JSON.parse(text) as unknown;
  if (!holdsPastSafe(parsed) || nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return parsed;
  return readExact(text);
}
