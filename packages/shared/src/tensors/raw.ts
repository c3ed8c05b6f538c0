/**
 * RawTensor: a tensor as bytes (little-endian, row-major) or, for BYTES, strings. It is the
 * form tensors take between the API, Redis and the ONNX session: rows of many jobs are joined by
 * concatenating bytes, and payloads in Redis carry base64 of those bytes instead of JSON
 * number arrays (4 bytes a float instead of ~10 characters, and no number parsing).
 */
import { DATATYPE_INFO, type Datatype } from '../contract/datatypes.js';
import { exactFloat, exactInteger } from './exact-integers.js';
import { halfValue } from './half.js';

export interface RawTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** numeric types: the elements' bytes; BYTES: one string per element */
  data: Uint8Array | string[];
}

/** What a RawTensor looks like inside a JSON payload in Redis. */
export interface EncodedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** base64 of the bytes (numeric types) */
  b64?: string;
  /** the elements (BYTES) */
  strings?: string[];
  /** [offset, length] of the bytes in the job's raw payload (see tensors/payload.ts) */
  at?: [number, number];
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The element count of a shape as a request gave it (unchecked), or undefined unless it is a list of non-negative integers whose product is a safe integer. */
export function shapeElementCount(shape: unknown): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) return undefined;
    n *= d as number;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Elements in one row (the product of every dimension after the first). */
export const rowElements = (shape: readonly number[]): number => elementCount(shape.slice(1));

export function toEncoded(t: RawTensor): EncodedTensor {
  if (Array.isArray(t.data)) return { name: t.name, datatype: t.datatype, shape: t.shape, strings: t.data };
  const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, datatype: t.datatype, shape: t.shape, b64: buf.toString('base64') };
}

export function fromEncoded(e: EncodedTensor): RawTensor {
  if (e.datatype === 'BYTES') {
    const strings = e.strings ?? [];
    if (strings.length !== elementCount(e.shape)) {
      throw new Error(`tensor ${e.name}: ${strings.length} strings for shape [${e.shape}] (expected ${elementCount(e.shape)})`);
    }
    return { name: e.name, datatype: e.datatype, shape: e.shape, data: strings };
  }
  const bytes = Buffer.from(e.b64 ?? '', 'base64');
  const expected = elementCount(e.shape) * DATATYPE_INFO[e.datatype].bytes;
  if (bytes.byteLength !== expected) {
    throw new Error(`tensor ${e.name}: ${bytes.byteLength} bytes for shape [${e.shape}] of ${e.datatype} (expected ${expected})`);
  }
  return { name: e.name, datatype: e.datatype, shape: e.shape, data: bytes };
}

/**
 * A typed-array view of a numeric RawTensor's bytes (copied first if unaligned, since typed
 * arrays need byteOffset % element size === 0 and Buffer pools do not promise it).
 */
export function typedView(t: RawTensor) {
  const info = DATATYPE_INFO[t.datatype];
  if (Array.isArray(t.data) || !info.array) throw new Error(`tensor ${t.name}: ${t.datatype} has no typed-array view`);
  let bytes = t.data;
  if (bytes.byteOffset % info.bytes !== 0) bytes = new Uint8Array(bytes);
  return new info.array(bytes.buffer, bytes.byteOffset, bytes.byteLength / info.bytes);
}

export type JsonValue = number | boolean | string;

/**
 * JSON values of a RawTensor, flat row-major (BOOL as booleans; FP16 bits as their values;
 * INT64/UINT64 as numbers, a value past 2^53 as the marker that exactJson writes as its digits;
 * a float's −0 as the marker it writes as `-0.0`: exact-integers.ts).
 */
export function toJsonValues(t: RawTensor): JsonValue[] {
  if (Array.isArray(t.data)) return t.data;
  const view = typedView(t);
  const out = new Array<JsonValue>(view.length);
  const kind = DATATYPE_INFO[t.datatype].kind;
  if (kind === 'bigint') {
    for (let i = 0; i < view.length; i++) out[i] = exactInteger(view[i] as bigint);
    return out;
  }
  if (kind === 'half') {
    for (let i = 0; i < view.length; i++) out[i] = exactFloat(halfValue(view[i] as number));
    return out;
  }
  if (kind === 'float') {
    for (let i = 0; i < view.length; i++) out[i] = exactFloat(view[i] as number);
    return out;
  }
  for (let i = 0; i < view.length; i++) {
    const v = view[i]!;
    out[i] = kind === 'bool' ? v !== 0 : Number(v);
  }
  return out;
}

/**
 * Element j of a RawTensor as toJsonValues gives it, read from its bytes when asked: for
 * writers that must not build an array of every value first. (toJsonValues keeps its own loop:
 * filling an array through this reader took twice as long.)
 */
export function jsonValueReader(t: RawTensor): (j: number) => JsonValue {
  if (Array.isArray(t.data)) {
    const strings = t.data;
    return (j) => strings[j]!;
  }
  const view = typedView(t);
  const kind = DATATYPE_INFO[t.datatype].kind;
  if (kind === 'bigint') return (j) => exactInteger(view[j] as bigint);
  if (kind === 'half') return (j) => exactFloat(halfValue(view[j] as number));
  if (kind === 'float') return (j) => exactFloat(view[j] as number);
  return kind === 'bool' ? (j) => view[j] !== 0 : (j) => Number(view[j]!);
}

/**
 * Elements [from, to) of a RawTensor as toJsonValues gives them, read from its bytes a range at
 * a time: for writers that make JSON text in pieces. The array is grown by push, which makes it
 * packed, and JSON.stringify reads a packed array fastest (123 against 158 ns a float32 value
 * here, for an array made at its length and then filled).
 */
export function jsonValueSlicer(t: RawTensor): (from: number, to: number) => JsonValue[] {
  const at = jsonValueReader(t);
  return (from, to) => {
    const values: JsonValue[] = [];
    for (let j = from; j < to; j++) values.push(at(j));
    return values;
  };
}
