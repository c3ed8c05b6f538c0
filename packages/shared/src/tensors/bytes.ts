/**
 * PURE: contents that arrived as bytes (binary tensor extension, gRPC raw contents) checked
 * against their declared datatype and shape, the counterpart of `encodeValues` for JSON data.
 */
import { DATATYPE_INFO, type Datatype } from '../contract/datatypes.js';
import type { EncodeResult } from './encode.js';
import { elementCount } from './raw.js';

/**
 * Byte length and, for BOOL, each byte (0 or 1); BYTES: one string per element, none holding a
 * NUL (onnxruntime-node's string tensors end an element there: it would reach the model cut
 * short; `encodeValues` refuses one in JSON strings likewise).
 */
export function checkBytes(name: string, datatype: Datatype, shape: number[], value: Uint8Array | string[]): EncodeResult {
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    if (!Array.isArray(value)) return { ok: false, message: 'BYTES contents must be a list of elements' };
    if (value.length !== count) return { ok: false, message: `binary data holds ${value.length} BYTES elements but shape [${shape.join(', ')}] needs ${count}` };
    const nul = value.findIndex((s) => s.includes('\0'));
    if (nul >= 0) return { ok: false, message: `BYTES element ${nul} holds a NUL byte, at which onnxruntime-node's strings end` };
    return { ok: true, tensor: { name, datatype, shape, data: value } };
  }
  if (Array.isArray(value)) return { ok: false, message: `${datatype} contents must be bytes` };
  const want = count * DATATYPE_INFO[datatype].bytes;
  if (value.byteLength !== want) {
    return { ok: false, message: `binary data has ${value.byteLength} bytes but shape [${shape.join(', ')}] of ${datatype} needs ${want}` };
  }
  if (datatype === 'BOOL') {
    const bad = value.findIndex((b) => b > 1);
    if (bad >= 0) return { ok: false, message: `byte ${bad} = ${value[bad]} is not a BOOL (0 or 1)` };
  }
  return { ok: true, tensor: { name, datatype, shape, data: value } };
}
