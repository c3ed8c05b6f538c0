/** JSON values → RawTensor bytes, checking each value against its datatype. */
import { DATATYPE_INFO, type Datatype } from '../contract/datatypes.js';
import { HALF_MAX, halfBits } from './half.js';
import type { RawTensor } from './raw.js';

export type EncodeResult = { ok: true; tensor: RawTensor } | { ok: false; message: string };

/** The largest finite value of each float type, as the error message names it. */
const FLOAT_MAX: Partial<Record<Datatype, string>> = { FP16: String(HALF_MAX), FP32: '3.4028235e38', FP64: '1.7976931348623157e308' };

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.slice(0, 20)}"` : String(v);
}

/**
 * Packs flat `values` into bytes for `datatype`; the first bad element is reported by index.
 * An integer past 2^53 comes as a BigInt (read exactly from JSON text, or from gRPC's int64
 * contents): exact into INT64/UINT64, a double into FP32/FP64 (as JSON.parse reads it), out
 * of range for the narrower integer types.
 */
/** String.prototype.isWellFormed (Node 20; not yet in this TypeScript target's lib). */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

export function encodeValues(name: string, datatype: Datatype, shape: number[], values: unknown[]): EncodeResult {
  const info = DATATYPE_INFO[datatype];
  const fail = (i: number, want: string): EncodeResult => ({
    ok: false,
    message: `data[${i}] = ${describe(values[i])} is not ${want} (datatype ${datatype})`,
  });
  if (info.kind === 'string') {
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== 'string') return fail(i, 'a string');
      // onnxruntime-node's string tensors end an element at a NUL: it would reach the model cut short.
      if ((values[i] as string).includes('\0')) return { ok: false, message: `data[${i}] holds a NUL character, at which onnxruntime-node's strings end (datatype BYTES)` };
      // A lone surrogate (JSON's "\ud800") is no character: as UTF-8 it would reach the model as U+FFFD.
      if (!isWellFormed(values[i] as string)) return { ok: false, message: `data[${i}] holds a lone UTF-16 surrogate, which is not text (datatype BYTES): send binary data base64-encoded` };
    }
    return { ok: true, tensor: { name, datatype, shape, data: values as string[] } };
  }
  const Arr = info.array!;
  const view = new Arr(values.length);
  switch (info.kind) {
    case 'bool':
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') return fail(i, 'true or false');
        view[i] = v ? 1 : 0;
      }
      break;
    case 'float':
      for (let i = 0; i < values.length; i++) {
        let v = values[i];
        if (typeof v === 'bigint') v = Number(v);
        if (typeof v !== 'number') return fail(i, 'a number');
        view[i] = v;
        // Past ±3.4e38 an FP32 (past ±1.8e308, what JSON.parse makes of 1e400, an FP64) is
        // Infinity, which a JSON response would carry as null: refuse it here instead.
        const stored = view[i] as number;
        if (stored - stored !== 0) return { ok: false, message: `data[${i}] = ${describe(v)} is out of the ${datatype} range (±${FLOAT_MAX[datatype]})` };
      }
      break;
    case 'half':
      for (let i = 0; i < values.length; i++) {
        let v = values[i];
        if (typeof v === 'bigint') v = Number(v);
        if (typeof v !== 'number') return fail(i, 'a number');
        // Stored as the nearest half's bits; a value that rounds past ±65504 is refused as FP32's are.
        const bits = halfBits(v);
        if ((bits & 0x7c00) === 0x7c00) return { ok: false, message: `data[${i}] = ${describe(v)} is out of the ${datatype} range (±${FLOAT_MAX[datatype]})` };
        view[i] = bits;
      }
      break;
    case 'int': {
      const [lo, hi] = info.range as [number, number];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return fail(i, `an integer in [${lo}, ${hi}]`);
        view[i] = v;
      }
      break;
    }
    case 'bigint': {
      const [lo, hi] = info.range as [bigint, bigint];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'bigint') {
          if (typeof v !== 'number' || !Number.isInteger(v)) return fail(i, `an integer in [${lo}, ${hi}]`);
          // Past 2^53 only an integer in digits is read exactly (a BigInt); `1e17` was rounded.
          if (!Number.isSafeInteger(v)) return { ok: false, message: `data[${i}] = ${describe(v)} is past 2^53 and not written in digits, so it is not exact (datatype ${datatype})` };
        }
        const b = BigInt(v);
        if (b < lo || b > hi) return fail(i, `an integer in [${lo}, ${hi}]`);
        view[i] = b;
      }
      break;
    }
  }
  return { ok: true, tensor: { name, datatype, shape, data: new Uint8Array(view.buffer, 0, view.byteLength) } };
}

/** As `encodeValues`, for values known to be valid (fixtures, tests): throws on a bad value. */
export function tensorOf(name: string, datatype: Datatype, shape: number[], values: unknown[]): RawTensor {
  const r = encodeValues(name, datatype, shape, values);
  if (!r.ok) throw new Error(r.message);
  return r.tensor;
}
