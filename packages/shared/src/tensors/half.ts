/**
 * FP16 (IEEE 754 binary16) values ↔ their bits. Node 20 has no Float16Array, and onnxruntime-node
 * carries float16 tensors as a Uint16Array of bits, so FP16 tensors are bits everywhere in the
 * service and become numbers only where JSON is read or written.
 *
 * Rounding a double to the nearest half (ties to even, straight from the double: no detour
 * through float32, which would round twice) is @petamoriken/float16's `f16round`; what is left
 * here is exact: the bits of a value that is already a half, and a table of all 65,536 halves.
 */
import { f16round } from '@petamoriken/float16';

/** The largest finite FP16 value. */
export const HALF_MAX = 65504;

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The bits of the half nearest to `value` (±Infinity past the range, 0x7e00 for NaN). */
export function halfBits(value: number): number {
  const h = f16round(value);
  if (h !== h) return 0x7e00;
  scratch[0] = h; // exact: every half is a float32
  const f = scratchBits[0]!;
  const sign = (f >>> 16) & 0x8000;
  const exponent = ((f >>> 23) & 0xff) - 127;
  if (exponent === 128) return sign | 0x7c00; // ±Infinity
  if (exponent >= -14) return sign | ((exponent + 15) << 10) | ((f >>> 13) & 0x3ff);
  // subnormal or zero: an exact multiple of 2^-24
  return sign | Math.abs(h) * 2 ** 24;
}

let table: Float32Array | undefined;

/** The value of FP16 bits. */
export function halfValue(bits: number): number {
  return (table ??= makeTable())[bits & 0xffff]!;
}

function makeTable(): Float32Array {
  const values = new Float32Array(0x10000);
  for (let bits = 0; bits < 0x10000; bits++) {
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    const magnitude = exponent === 0 ? mantissa * 2 ** -24
      : exponent === 0x1f ? (mantissa ? NaN : Infinity)
      : (1 + mantissa / 1024) * 2 ** (exponent - 15);
    values[bits] = bits & 0x8000 ? -magnitude : magnitude;
  }
  return values;
}
