import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * JSON as the service writes and reads it: INT64/UINT64 tensor values past 2^53 are exact on
 * the wire, so here they are `bigint`s, both ways.
 *
 * `JSON.parse` does the work unless the text holds an integer of 16 or more digits (the only
 * ones that can be past 2^53; the digits of a fraction or an exponent do not count); such
 * text is read by lossless-json, an integer a double cannot hold a `bigint`, and then every
 * such `bigint` is made the number `JSON.parse` makes of it except where an integer tensor's
 * values are (`keepsIntegers`): the `data` of a tensor whose datatype is INT64 or UINT64, and
 * the values of compact `inputs`/`outputs` (`{"name": [values]}`, which name no datatype).
 * A float output of 1e20 (written in digits) or a metadata number is a `number`, as the
 * README says; it was a `bigint` wherever the text held one long integer (an SDK audit).
 */
export function parseJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return numbersOutsideIntegerTensors(parse(text, null, readNumber));
}

/**
 * A tensor's values alone (the CLI's `--input name=[...]`), for an input of `datatype`: exact
 * `bigint`s past 2^53 for INT64/UINT64, as `parseJson` keeps them in a tensor that names its
 * datatype (a bare list names none, so it would make them the nearest double).
 */
export function parseTensorValues(text: string, datatype: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  const value = parse(text, null, readNumber);
  return INTEGER_DATATYPES.has(datatype) ? value : numbersOutsideIntegerTensors(value);
}

const INTEGER_DATATYPES = new Set(['INT64', 'UINT64']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `value` with each `bigint` a `number`, but where integer tensor values are (see parseJson); in place. */
function numbersOutsideIntegerTensors(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (!isObject(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = numbersOutsideIntegerTensors(value[i]);
    return value;
  }
  const integerTensor = typeof value['datatype'] === 'string' && INTEGER_DATATYPES.has(value['datatype']);
  for (const [key, v] of Object.entries(value)) {
    if (key === 'data' && integerTensor) continue;
    // Compact tensors: `{"name": [values]}` under `inputs` or `outputs` name no datatype, so their integers past 2^53 stay exact.
    if ((key === 'inputs' || key === 'outputs') && isObject(v) && !Array.isArray(v)) continue;
    value[key] = numbersOutsideIntegerTensors(v);
  }
  return value;
}

/**
 * `JSON.stringify`, except that a `bigint` anywhere is written as its digits, and NaN or
 * ±Infinity anywhere is a TypeError naming where it is: JSON has no such numbers, and
 * `JSON.stringify` would send `null`, which the service refuses as "not a number" without
 * saying that the caller's value was NaN. undefined for what JSON cannot hold, as `JSON.stringify`.
 */
export function stringifyJson(value: unknown): string | undefined {
  // A typed array (what encodeNpy takes, and numeric code holds) is its list of values, not the
  // object of numbered keys JSON.stringify makes of it (which the service read as no data).
  if (holdsTypedArray(value)) value = withTypedArraysAsLists(value);
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

/**
 * Whether `value` holds a typed array (a Float32Array, a BigInt64Array, …). Lists are looked
 * into only while they hold lists or objects: a list of numbers (tensor data) is a leaf, so the
 * look costs a step per list, not per value.
 */
function holdsTypedArray(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) {
    const first = value[0] as unknown;
    return typeof first === 'object' && first !== null && value.some(holdsTypedArray);
  }
  return Object.values(value).some(holdsTypedArray);
}

/** `value` with its typed arrays as lists of their values (a copy of the objects and lists on the way). */
function withTypedArraysAsLists(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value)) return value instanceof DataView ? value : Array.from(value as unknown as ArrayLike<number | bigint>);
  if (Array.isArray(value)) return value.map(withTypedArraysAsLists);
  // What writes itself (a Date's toJSON) is left to write itself.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withTypedArraysAsLists(v)]));
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

/**
 * A TypeError when a request asks for outputs in the binary tensor extension
 * (`binary_data_output`, or `binary_data` on an output): this client reads JSON answers, and
 * such an answer was read as "not JSON" only after the work had run (an SDK audit).
 */
export function refuseBinaryOutputs(parameters: Record<string, unknown> | undefined, outputs: readonly unknown[] | undefined): void {
  const asked = parameters?.['binary_data_output'] === true ||
    (outputs ?? []).some((o) => typeof o === 'object' && o !== null && (o as { parameters?: Record<string, unknown> }).parameters?.['binary_data'] === true);
  if (asked) throw new TypeError('binary_data_output and binary_data ask for outputs in the binary tensor extension, which this client does not read: leave them out (outputs come as JSON)');
}
