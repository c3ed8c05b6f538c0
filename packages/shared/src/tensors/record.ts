/**
 * Tensors as ONE self-describing binary value: how a batch chunk's outputs are recorded in
 * Redis (the ledger's RECORD_CHUNKS_LUA) and served from there. The bytes are stored as ONNX
 * Runtime returned them, not as base64 inside JSON, so `.npy` results are the stored bytes
 * themselves and NDJSON results read numbers from views of them (no re-encoding either way).
 *
 *   "\0TNS" | header length (uint32 LE) | header: JSON EncodedTensor[] (`at` counts from the
 *   start of the data) padded with spaces to a multiple of 8 | data: the numeric tensors'
 *   bytes, concatenated
 *
 * Padding keeps the data 8-byte aligned within the value, so typed-array views of it need no
 * copy when the buffer holding the value is aligned. A value that starts with "[" is the JSON
 * `EncodedTensor[]` (base64) of records written before this format; `readTensorRecord` reads both.
 */
import { packLayout, unpackPayload } from './payload.js';
import { fromEncoded, type EncodedTensor, type RawTensor } from './raw.js';

const MAGIC = Buffer.from('\0TNS', 'latin1');
const PREFIX = MAGIC.length + 4;

/** The record of `tensors`: one copy of their bytes (into the value). */
export function tensorRecord(tensors: readonly RawTensor[]): Buffer {
  const { inputs, parts, byteLength } = packLayout(tensors);
  const json = JSON.stringify(inputs);
  const jsonBytes = Buffer.byteLength(json);
  const headerBytes = Math.ceil((PREFIX + jsonBytes) / 8) * 8 - PREFIX;
  const out = Buffer.allocUnsafe(PREFIX + headerBytes + byteLength);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(headerBytes, MAGIC.length);
  out.write(json, PREFIX, 'utf8');
  out.fill(0x20, PREFIX + jsonBytes, PREFIX + headerBytes);
  let at = PREFIX + headerBytes;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The tensors of a record, as views into `value` (no copy); throws on a malformed record. */
export function readTensorRecord(value: Buffer): RawTensor[] {
  if (value.length > 0 && value[0] === 0x5b) return (JSON.parse(value.toString('utf8')) as EncodedTensor[]).map(fromEncoded);
  if (value.length < PREFIX || !value.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a tensor record');
  const headerBytes = value.readUInt32LE(MAGIC.length);
  if (PREFIX + headerBytes > value.length) throw new Error(`a tensor record's header runs past its ${value.length} bytes`);
  const header = JSON.parse(value.toString('utf8', PREFIX, PREFIX + headerBytes)) as EncodedTensor[];
  return unpackPayload(header, value.subarray(PREFIX + headerBytes));
}
