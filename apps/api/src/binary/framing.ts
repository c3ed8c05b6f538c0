/**
 * PURE: Triton's binary tensor extension (the KServe v2 HTTP "binary data" extension).
 *
 * A body is `Inference-Header-Content-Length` bytes of JSON header, then the raw contents of
 * every tensor whose `parameters.binary_data_size` is set, in the order the header lists them:
 * little-endian, row-major, no padding; BOOL one byte an element; BYTES each element as a
 * 4-byte little-endian length and its bytes. The same framing carries outputs back when the
 * client asks for them in binary (`binary_data: true` on an output, or the request parameter
 * `binary_data_output: true`); outputs asked for in JSON stay in the header with their `data`.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { BinaryData, DATATYPE_INFO, exactJson, floatOf, halfBits, InputTensor, integerOf, isDatatype, MalformedBodyError, MAX_TENSORS, rawOf, shapeElementCount, ValidationError, ValuesArray, type Datatype, type OutputTensor } from '@maas/shared';
import { readRequestJson } from '../json/request-json.js';
import { refusedBeforeParse } from '../http/json-bounds.js';

/** The request and response header naming the JSON part's length. */
export const HEADER_LENGTH = 'Inference-Header-Content-Length';

/** The header's value as a byte count; a value that is not one is a 400 saying so. */
export function parseHeaderLength(value: string): number {
  if (!/^\s*[0-9]{1,12}\s*$/.test(value)) {
    throw new MalformedBodyError(`${HEADER_LENGTH} must be a byte count, got "${value.slice(0, 40)}"`);
  }
  return Number(value);
}

/** BYTES elements → 4-byte little-endian length + UTF-8 bytes each. */
export function encodeBytesElements(values: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    const b = Buffer.from(v, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.byteLength, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** The elements of a BYTES tensor's binary contents; a length running past the end is a 400. */
export function decodeBytesElements(buf: Buffer, tensor: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < buf.byteLength) {
    if (at + 4 > buf.byteLength) {
      throw new MalformedBodyError(`input '${tensor}': BYTES element ${out.length} has a truncated length prefix (${buf.byteLength - at} of 4 bytes)`);
    }
    const len = buf.readUInt32LE(at);
    at += 4;
    if (at + len > buf.byteLength) {
      throw new MalformedBodyError(`input '${tensor}': BYTES element ${out.length} claims ${len} bytes but only ${buf.byteLength - at} remain`);
    }
    out.push(bytesElementText(buf.subarray(at, at + len), tensor, out.length));
    at += len;
  }
  return out;
}

/** BYTES elements in `buf` by their length prefixes, counting stopped past `stopAfter`; `overrun`: which element's prefix or length runs past the end (what the client needs to hear, not a count). */
function countBytesElements(buf: Buffer, stopAfter: number): { count: number; overrun?: string } {
  let n = 0;
  for (let at = 0; at < buf.byteLength && n <= stopAfter; n++) {
    const left = buf.byteLength - at;
    if (left < 4) return { count: n + 1, overrun: `BYTES element ${n}'s 4-byte length prefix is cut short: ${left} bytes left of binary_data_size` };
    const length = buf.readUInt32LE(at);
    if (4 + length > left) return { count: n + 1, overrun: `BYTES element ${n}'s length ${length} runs past the end of its binary_data_size (${left - 4} bytes left after its 4-byte length)` };
    at += 4 + length;
  }
  return { count: n };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A BYTES element as the text onnxruntime-node's string tensors carry: UTF-8. Bytes that are
 * not UTF-8 (an image, a serialized message) would reach the model altered and answer 200: a
 * 400 instead. (A NUL, at which those strings end, is refused by the shared tensor check.)
 */
export function bytesElementText(element: Uint8Array, tensor: string, index: number): string {
  let text: string;
  try {
    text = STRICT_UTF8.decode(element);
  } catch {
    throw new ValidationError([{ path: `inputs.${tensor}`, message: `BYTES element ${index} is not UTF-8 text, which onnxruntime-node's string tensors carry (send binary data base64-encoded)` }]);
  }
  return text;
}

/** An input of a framed request's JSON header: `data`, or `parameters.binary_data_size` bytes after the header. */
const FramedInput = InputTensor.extend({
  data: ValuesArray.optional().describe('left out when parameters.binary_data_size is given'),
  parameters: z
    .object({ binary_data_size: z.number().int().min(0).optional().describe('bytes of this input after the JSON header, in the order of `inputs`') })
    .catchall(z.unknown())
    .optional(),
});

/**
 * The JSON header of a framed request to a route whose body `schema` parses (InferRequest,
 * JobRequest): the same object, except that an input may leave out `data` for
 * `parameters.binary_data_size` bytes after the header; `parseBinaryRequest` puts them in
 * its place before the route parses. The OpenAPI document shows it.
 */
export function framedRequestHeader(schema: z.ZodObject): z.ZodObject {
  return schema.extend({ inputs: z.array(FramedInput).min(1).max(MAX_TENSORS) });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Splits a binary-extension body into its JSON header, with every input that has
 * `binary_data_size` given its contents as `BinaryData` in place of `data`. Every framing
 * fault (header longer than the body, bad JSON, sizes that do not add up to the body, an input
 * with both `data` and `binary_data_size`) is a MalformedBodyError naming what is wrong.
 */
export function parseBinaryRequest(body: Buffer, headerLength: number): unknown {
  if (headerLength > body.byteLength) {
    throw new MalformedBodyError(`${HEADER_LENGTH} is ${headerLength} but the body has only ${body.byteLength} bytes`);
  }
  if (!isUtf8(body.subarray(0, headerLength))) throw new MalformedBodyError(`the first ${headerLength} bytes (${HEADER_LENGTH}) are not UTF-8 text, as a JSON header must be`);
  const refusal = refusedBeforeParse(body.subarray(0, headerLength)); // before JSON.parse (json-bounds.ts)
  if (refusal) throw refusal;
  let header: unknown;
  try {
    header = readRequestJson(body.toString('utf8', 0, headerLength));
  } catch (err) {
    throw new MalformedBodyError(`the first ${headerLength} bytes (${HEADER_LENGTH}) are not a JSON header: ${(err as Error).message}`, err);
  }
  if (!isRecord(header)) throw new MalformedBodyError('the JSON header must be an object');
  let at = headerLength;
  const inputs = Array.isArray(header['inputs']) ? header['inputs'] : [];
  inputs.forEach((t: unknown, i) => {
    if (!isRecord(t) || !isRecord(t['parameters']) || t['parameters']['binary_data_size'] === undefined) return;
    const size = t['parameters']['binary_data_size'];
    const name = typeof t['name'] === 'string' ? t['name'] : `inputs[${i}]`;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new MalformedBodyError(`input '${name}': parameters.binary_data_size must be a byte count, got ${JSON.stringify(size)}`);
    }
    if (t['data'] !== undefined) throw new MalformedBodyError(`input '${name}' has both data and parameters.binary_data_size`);
    if (at + size > body.byteLength) {
      throw new MalformedBodyError(`input '${name}': binary_data_size ${size} runs past the end of the body (${body.byteLength - at} bytes left)`);
    }
    const bytes = body.subarray(at, at + size);
    at += size;
    if (t['datatype'] === 'BYTES') {
      // Counted first from the length prefixes, without a string made: 15.7 million empty
      // elements for a [1, 32] shape took 5.8 s to decode before they were refused (a security audit).
      const expected = shapeElementCount(t['shape']);
      const counted = expected === undefined ? undefined : countBytesElements(bytes, expected);
      if (counted?.overrun) throw new MalformedBodyError(`input '${name}': ${counted.overrun}`);
      const n = counted?.count;
      if (n !== undefined && n !== expected) {
        throw new ValidationError([{ path: `inputs[${i}].data`, message: `binary data has ${n > expected! ? `more than ${expected}` : n} BYTES elements but shape [${(t['shape'] as number[]).join(', ')}] needs ${expected}` }]);
      }
    }
    t['data'] = new BinaryData(t['datatype'] === 'BYTES' ? decodeBytesElements(bytes, name) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  if (at !== body.byteLength) {
    throw new MalformedBodyError(`${body.byteLength - at} bytes after the header are not claimed by any input's binary_data_size`);
  }
  return header;
}

/** A response tensor's values as the little-endian bytes of its datatype. */
export function packValues(datatype: Datatype, values: readonly (number | boolean | string)[]): Buffer {
  if (datatype === 'BYTES') return encodeBytesElements(values.map(String));
  const info = DATATYPE_INFO[datatype];
  const view = new info.array!(values.length);
  const big = info.kind === 'bigint';
  const half = info.kind === 'half';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    view[i] = big ? integerOf(v) : half ? halfBits(floatOf(v)) : floatOf(v); // floatOf: −0 stands as a marker (exactFloat)
  }
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * An output tensor's bytes for a binary answer: the bytes it was made from as they are (no
 * copy, no JSON values: output-tensor.ts), else its JSON values packed.
 */
export function outputBytes(o: OutputTensor): Buffer {
  const raw = rawOf(o)?.data;
  // BYTES tensors hold their strings either way: packed as any JSON values are.
  if (!raw || Array.isArray(raw)) return packValues(o.datatype, o.data);
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Which outputs go in binary: the output's own `binary_data`, else the request's `binary_data_output`. */
export function binaryOutputs(
  requestParams: Record<string, unknown> | undefined,
  outputs: readonly { name: string; parameters?: { binary_data?: boolean | undefined } | undefined }[] | undefined,
): (name: string) => boolean {
  const all = requestParams?.['binary_data_output'] === true;
  const own = new Map((outputs ?? []).filter((o) => o.parameters?.binary_data !== undefined).map((o) => [o.name, o.parameters!.binary_data!]));
  return (name) => own.get(name) ?? all;
}

export interface Framed {
  /** the answer's bytes in order: the JSON, then each binary output's bytes (written one after another, not joined) */
  pieces: Buffer[];
  /** bytes of JSON at the start of the answer; undefined when no output went in binary (plain JSON) */
  headerLength: number | undefined;
}

/**
 * A response document whose `outputs` (when `binary(name)`) leave their `data` for the bytes
 * after the JSON header, with `parameters.binary_data_size`. No binary output: plain JSON.
 */
export function frameResponse<T extends { outputs: OutputTensor[] | null }>(doc: T, binary: (name: string) => boolean): Framed {
  const chunks: Buffer[] = [];
  const outputs = doc.outputs?.map((o) => {
    if (!binary(o.name) || !isDatatype(o.datatype)) return o;
    const bytes = outputBytes(o);
    chunks.push(bytes);
    // Built field by field: reading `data` would make the JSON values this answer skips.
    return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json = Buffer.from(exactJson(JSON.stringify({ ...doc, outputs: outputs ?? null })), 'utf8');
  if (chunks.length === 0) return { pieces: [json], headerLength: undefined };
  return { pieces: [json, ...chunks], headerLength: json.byteLength };
}
