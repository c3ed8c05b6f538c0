/**
 * Raw tensor payloads: the input bytes of a batch-file chunk, or of a job whose inputs hold at
 * least RAW_PAYLOAD_MIN_BYTES, kept in Redis as ONE binary string beside the job, instead of
 * base64 inside the job's JSON. The job's `inputs` then only describe each tensor and where its
 * bytes sit (`at: [offset, length]`).
 *
 * Per job this saves encoding and decoding base64 (a third larger), and BullMQ stringifying
 * and parsing (and ioredis measuring, three times) that JSON, on both sides. Copies of the tensor bytes: none when the
 * chunk has one numeric input whose bytes are one buffer (the `.npy` path), one otherwise
 * (the concatenation); the worker reads views into the buffer Redis returned.
 */
import { DATATYPE_INFO } from '../contract/datatypes.js';
import { elementCount, type EncodedTensor, type RawTensor } from './raw.js';

/**
 * Jobs whose numeric inputs hold at least this many bytes carry them as a raw payload. Below
 * it, base64 in the job costs less than the payload's extra key and the worker's extra read
 * (one round trip); above it, base64 and JSON cost several ms a megabyte at each end.
 */
export const RAW_PAYLOAD_MIN_BYTES = 64 * 1024;

/** The bytes of `tensors`' numeric data (BYTES tensors count nothing: they stay inline). */
export function numericBytes(tensors: readonly RawTensor[]): number {
  let n = 0;
  for (const t of tensors) if (!Array.isArray(t.data)) n += t.data.byteLength;
  return n;
}

export interface PackedPayload {
  /** tensor descriptions for the job's data (numeric ones point into `bytes`) */
  inputs: EncodedTensor[];
  bytes: Buffer;
}

/**
 * How `tensors` sit in one packed byte string: their descriptions (numeric ones with `at`,
 * BYTES ones with their strings inline), the numeric tensors' bytes in order, and their total.
 */
export function packLayout(tensors: readonly RawTensor[]): { inputs: EncodedTensor[]; parts: Uint8Array[]; byteLength: number } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const inputs = tensors.map((t): EncodedTensor => {
    if (Array.isArray(t.data)) return { name: t.name, datatype: t.datatype, shape: t.shape, strings: t.data };
    parts.push(t.data);
    const at: [number, number] = [offset, t.data.byteLength];
    offset += t.data.byteLength;
    return { name: t.name, datatype: t.datatype, shape: t.shape, at };
  });
  return { inputs, parts, byteLength: offset };
}

/** Numeric tensors' bytes concatenated; BYTES tensors stay inline as strings. */
export function packPayload(tensors: readonly RawTensor[]): PackedPayload {
  const { inputs, parts, byteLength } = packLayout(tensors);
  const only = parts.length === 1 ? parts[0]! : undefined;
  const bytes = only ? Buffer.from(only.buffer, only.byteOffset, only.byteLength) : Buffer.concat(parts, byteLength);
  return { inputs, bytes };
}

/** The tensors of a packed payload, as views into `bytes` (no copy); throws on a size mismatch. */
export function unpackPayload(inputs: readonly EncodedTensor[], bytes: Buffer): RawTensor[] {
  return inputs.map((e) => {
    if (e.datatype === 'BYTES' || !e.at) {
      const strings = e.strings ?? [];
      return { name: e.name, datatype: e.datatype, shape: e.shape, data: strings };
    }
    const [offset, length] = e.at;
    const expected = elementCount(e.shape) * DATATYPE_INFO[e.datatype].bytes;
    if (length !== expected || offset + length > bytes.byteLength) {
      throw new Error(`tensor ${e.name}: ${length} bytes at ${offset} of a ${bytes.byteLength}-byte payload for shape [${e.shape}] of ${e.datatype} (expected ${expected})`);
    }
    return { name: e.name, datatype: e.datatype, shape: e.shape, data: bytes.subarray(offset, offset + length) };
  });
}
