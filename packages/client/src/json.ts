import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * JSON as the service writes and reads it: integers past 2^53 (INT64/UINT64 tensor values,
 * hashed ids) are exact on the wire, so here they are `bigint`s, both ways.
 *
 * `JSON.parse` does the work unless the text holds an integer of 16 or more digits (the only
 * ones that can be past 2^53; the digits of a fraction or an exponent do not count); such
 * text is read by lossless-json, each number a `number` unless it is an integer a double
 * cannot hold, which becomes a `bigint`.
 */
export function parseJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return parse(text, null, readNumber);
}

/**
 * `JSON.stringify`, except that a `bigint` anywhere is written as its digits, and NaN or
 * ±Infinity anywhere is a TypeError naming where it is: JSON has no such numbers, and
 * `JSON.stringify` would send `null`, which the service refuses as "not a number" without
 * saying that the caller's value was NaN. undefined for what JSON cannot hold, as `JSON.stringify`.
 */
export function stringifyJson(value: unknown): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // Only a BigInt makes JSON.stringify throw a TypeError here (a cycle throws too, and lossless-json says so again).
    if (!(err instanceof TypeError)) throw err;
    json = stringify(value as Parameters<typeof stringify>[0]);
  }
  // A non-finite number comes out as null: only text with a null in it is searched (a tensor rarely has one).
  if (json?.includes('null')) {
    const where = nonFinitePath(value, '');
    if (where) throw new TypeError(`${where.value} at ${where.path || 'the top'} cannot be sent: JSON has no NaN or Infinity (send the tensor in binary, or replace the value)`);
  }
  return json;
}

/** PURE: the first NaN or ±Infinity in `value`, and its path (`inputs[0].data[3]`); undefined if it holds none. */
export function nonFinitePath(value: unknown, path: string): { value: number; path: string } | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { value, path };
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFinitePath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value)) {
    const found = nonFinitePath(v, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

/** An integer token of 16 or more digits: not after a digit, a point or an exponent's sign, not followed by a point or an exponent. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/;

function readNumber(digits: string): number | bigint {
  if (isSafeNumber(digits) || !isInteger(digits)) return Number(digits);
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : BigInt(digits);
}
