/**
 * INT64/UINT64 values past 2^53, and a float's −0, in JSON answers, exactly. `JSON.stringify`
 * writes a number as its double (9007199254740993 as 9007199254740992; 2^63 - 1 as 9223372036854776000, past
 * INT64's range, which tritonclient's `as_numpy` refuses), and Node 20 has no raw JSON numbers
 * (`JSON.rawJSON` came with Node 21). So such a value stands in an output's JSON values as a
 * marker string (`exactInteger`), and every writer of JSON text holding outputs passes that
 * text through `exactJson`, which puts the integer's digits where its marker's JSON stands.
 *
 * The marker holds a nonce of this process: no string a client sends (a BYTES element a model
 * echoes) can be taken for one. Values within 2^53 stay numbers, so most answers hold no
 * marker and `exactJson` only looks for one. −0 (`exactFloat`), which JSON.stringify writes as
 * `0`, stands as a marker likewise.
 */
import { randomBytes } from 'node:crypto';

const PREFIX = `\u0001${randomBytes(12).toString('base64url')}:`;
/** The marker's start as JSON.stringify writes it: `"\u0001<nonce>:` (the control character escaped). */
const WRITTEN_PREFIX = JSON.stringify(PREFIX).slice(0, -1);
const WRITTEN = new RegExp(`${WRITTEN_PREFIX.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&')}(-?[0-9]+(?:\\.0)?)"`, 'g');

/** An INT64/UINT64 value as an output's JSON value: a number within 2^53, else a marker `exactJson` writes as its digits. */
export function exactInteger(v: bigint): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : PREFIX + v.toString();
}

/**
 * A float output's value as its JSON value: −0 a marker `exactJson` writes as `-0.0` (as Triton
 * does; JSON.stringify writes `0`, and a client reads +0), any other number itself.
 */
export function exactFloat(v: number): number | string {
  return v === 0 && 1 / v < 0 ? NEGATIVE_ZERO : v;
}

const NEGATIVE_ZERO = `${PREFIX}-0.0`;

/** The number a float output's JSON value stands for (`exactFloat`'s marker: −0). */
export function floatOf(v: number | boolean | string): number {
  return v === NEGATIVE_ZERO ? -0 : Number(v);
}

/** JSON text with every marker `exactInteger` and `exactFloat` made written as its number. */
export function exactJson(text: string): string {
  return text.includes(WRITTEN_PREFIX) ? text.replace(WRITTEN, '$1') : text;
}

/** The integer a JSON value of an output stands for: its marker's (exactInteger), else the number's. */
export function integerOf(v: number | boolean | string): bigint {
  if (typeof v === 'string' && v.startsWith(PREFIX)) return BigInt(v.slice(PREFIX.length));
  return BigInt(Math.trunc(Number(v)));
}
