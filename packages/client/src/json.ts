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

/** `JSON.stringify`, except that a `bigint` anywhere is written as its digits. undefined for what JSON cannot hold, as `JSON.stringify`. */
export function stringifyJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    // Only a BigInt makes JSON.stringify throw a TypeError here (a cycle throws too, and lossless-json says so again).
    if (!(err instanceof TypeError)) throw err;
    return stringify(value as Parameters<typeof stringify>[0]);
  }
}

/** An integer token of 16 or more digits: not after a digit, a point or an exponent's sign, not followed by a point or an exponent. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/;

function readNumber(digits: string): number | bigint {
  if (isSafeNumber(digits) || !isInteger(digits)) return Number(digits);
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : BigInt(digits);
}
