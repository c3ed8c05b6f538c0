/**
 * PURE: a large JSON inference body (KServe v2 infer, `/v1/jobs`) read with its FP32 tensors'
 * values going straight into bytes, as the binary tensor extension would have carried them.
 *
 * `JSON.parse` of a 224×224×3 image (150,528 values, as clients print float32s: 17 digits)
 * took about 21 ms here, then the values were checked and packed one by one and the body
 * walked for its depth. This reads the body's structure with a byte cursor
 * (json/byte-reader.ts): an `inputs` tensor whose `datatype` is `"FP32"` and whose `shape`
 * come before a flat `data` list has that list read into a Float32Array, exactly as
 * `Math.fround(JSON.parse(...))` would give each value, and becomes `BinaryData` (checked
 * downstream like the binary extension's bytes). Every other value, wherever it is, is
 * `JSON.parse`d from its own bytes, so its reading is `JSON.parse`'s.
 *
 * It returns undefined for anything it does not take exactly as `JSON.parse` would (escapes
 * in keys, a key twice, `__proto__`, a value out of float32's range, a data list of another
 * shape, nesting, malformed JSON): the caller then parses the body with `JSON.parse`, which
 * also words any error. The result, read either way, is the same request. A flat list of
 * numbers of another length than its shape holds is refused here (a ValidationError worded as
 * the checks word it).
 */
import { BinaryData, MAX_TENSORS, shapeElementCount, ValidationError } from '@maas/shared';
import { ByteReader, COLON, COMMA, DOT, LBRACE, LBRACKET, MINUS, PLUS, RBRACE, RBRACKET, textOf, ZERO } from '../json/byte-reader.js';
import { readTensorDataJson } from '../json/request-json.js';

/** What a reader returns for a value it does not read (the body then goes to `JSON.parse`). */
const FAIL = Symbol('not read');

/** The body as `JSON.parse` reads it, FP32 tensor data as BinaryData; undefined when it must be read by `JSON.parse`. */
export function readTensorJson(body: Uint8Array): Record<string, unknown> | undefined {
  const r = new ByteReader(body, 0, body.length);
  const top = object(r, body, (key) => (key === 'inputs' ? inputs : value));
  if (top === FAIL) return undefined;
  r.space();
  return r.pos === body.length ? (top as Record<string, unknown>) : undefined;
}

/** Reads one value at `r` for a key: the general reader, or a special one. */
type ValueReader = (r: ByteReader, body: Uint8Array, holder: Record<string, unknown>) => unknown;

/** The value at `r`, read by `parse` from its own bytes. */
function parsed(r: ByteReader, body: Uint8Array, parse: (text: string) => unknown): unknown {
  if (!r.skipValue()) return FAIL;
  try {
    return parse(textOf(body, r.strStart, r.strEnd));
  } catch {
    return FAIL;
  }
}

/** Any value, read by `JSON.parse` from its own bytes. */
const value = (r: ByteReader, body: Uint8Array): unknown => parsed(r, body, JSON.parse);

/** A tensor's `data` that is not read into bytes: as `value`, its integers past 2^53 exact (json/request-json.ts). */
const dataValue = (r: ByteReader, body: Uint8Array): unknown => parsed(r, body, readTensorDataJson);

/** `{"key": value, …}`: keys without escapes, each once; `reader(key)` reads each value. */
function object(r: ByteReader, body: Uint8Array, reader: (key: string) => ValueReader): Record<string, unknown> | typeof FAIL {
  if (!r.expect(LBRACE)) return FAIL;
  const out: Record<string, unknown> = {};
  r.space();
  if (r.peek() === RBRACE) {
    r.pos++;
    return out;
  }
  for (;;) {
    if (!r.string()) return FAIL;
    const key = textOf(body, r.strStart, r.strEnd);
    if (key === '__proto__' || Object.hasOwn(out, key) || !r.expect(COLON)) return FAIL;
    const v = reader(key)(r, body, out);
    if (v === FAIL) return FAIL;
    out[key] = v;
    if (r.expect(COMMA)) continue;
    return r.expect(RBRACE) ? out : FAIL;
  }
}

/** `inputs`: a list whose objects are read as tensors (anything else by `JSON.parse`). */
function inputs(r: ByteReader, body: Uint8Array): unknown {
  r.space();
  if (r.peek() !== LBRACKET) return value(r, body);
  r.pos++;
  const list: unknown[] = [];
  r.space();
  if (r.peek() === RBRACKET) {
    r.pos++;
    return list;
  }
  for (;;) {
    r.space();
    const v = r.peek() === LBRACE ? object(r, body, (key) => (key === 'data' ? data : value)) : value(r, body);
    if (v === FAIL) return FAIL;
    // Read whole, each key once (a key twice FAILs): its data list is of another length than its shape holds.
    const d = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)['data'] : undefined;
    if (d instanceof DataCountMismatch) throw new ValidationError([{ path: `inputs[${list.length}].data`, message: d.message }]);
    // Bounded as it is read, as the schemas bound it: 20 million `{}` (61 KB gzipped) made
    // 2.9 GB of objects for JSON.parse before the schema refused them (a security audit).
    if (list.length === MAX_TENSORS) throw new ValidationError([{ path: 'inputs', message: `at most ${MAX_TENSORS} tensors (got more)` }]);
    list.push(v);
    if (r.expect(COMMA)) continue;
    return r.expect(RBRACKET) ? list : FAIL;
  }
}

/**
 * A tensor's `data`: a flat list of numbers of an FP32 tensor whose shape came first, read into
 * bytes; any other by `JSON.parse`. The shape is believed only as far as the bytes left can
 * hold its values (a value takes at least two), so a hostile shape allocates nothing large.
 */
function data(r: ByteReader, body: Uint8Array, tensor: Record<string, unknown>): unknown {
  const count = tensor['datatype'] === 'FP32' ? shapeElementCount(tensor['shape']) ?? -1 : -1;
  r.space();
  const at = r.pos;
  if (count < 0 || r.peek() !== LBRACKET || 2 * count > body.length - at + 1) return dataValue(r, body);
  r.pos++;
  r.space();
  if (r.peek() === LBRACKET) {
    r.pos = at;
    return dataValue(r, body); // nested: JSON.parse, and the checks flatten it
  }
  const values = new Float32Array(count);
  if (count === 0 ? r.expect(RBRACKET) : r.floats({ into: values, at: 0 }, count) && r.expect(RBRACKET)) {
    return new BinaryData(new Uint8Array(values.buffer));
  }
  // A flat list of numbers of another length is refused from here: JSON.parse of the whole body
  // only to word it took 6-11 s of the event loop for 62 MB (61 KB gzipped; a security audit).
  r.pos = at;
  const n = flatNumbers(r, body);
  // Thrown once its tensor has been read whole (a later `shape` key makes the tensor one JSON.parse reads).
  return n !== undefined && n !== count ? new DataCountMismatch(n, tensor['shape'] as number[], count) : FAIL;
}

/** A flat list of numbers (its count), or undefined for anything else; `r` past it. */
function flatNumbers(r: ByteReader, body: Uint8Array): number | undefined {
  if (!r.expect(LBRACKET)) return undefined;
  r.space();
  if (r.peek() === RBRACKET) {
    r.pos++;
    return 0;
  }
  for (let n = 1; ; n++) {
    r.space();
    const end = jsonNumberEnd(body, r.pos, body.length);
    if (end < 0) return undefined;
    r.pos = end;
    if (r.expect(COMMA)) continue;
    return r.expect(RBRACKET) ? n : undefined;
  }
}

const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= ZERO + 9;

/** Where the JSON number (RFC 8259 §6) at `b[at]` ends, or -1 when none is there. */
function jsonNumberEnd(b: Uint8Array, at: number, len: number): number {
  let p = at;
  if (b[p] === MINUS) p++;
  if (b[p] === ZERO) p++;
  else if (isDigit(b[p]) && p < len) while (p < len && isDigit(b[p])) p++;
  else return -1;
  if (b[p] === DOT) {
    if (!isDigit(b[++p])) return -1;
    while (p < len && isDigit(b[p])) p++;
  }
  if (b[p] === 0x65 || b[p] === 0x45) {
    p++;
    if (b[p] === PLUS || b[p] === MINUS) p++;
    if (!isDigit(b[p])) return -1;
    while (p < len && isDigit(b[p])) p++;
  }
  return p <= len ? p : -1;
}

/** A tensor's flat data list of another length than its shape holds (inputs() names the tensor). */
class DataCountMismatch extends Error {
  constructor(readonly got: number, readonly shape: number[], readonly needs: number) {
    super(`data has ${got} elements but shape [${shape.join(', ')}] needs ${needs}`); // as flattenData words it
  }
}

