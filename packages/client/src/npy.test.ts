import { describe, expect, it } from 'vitest';
import { encodeNpy } from './npy.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('encodeNpy', () => {
  it('writes a version 1.0 header, 64-byte aligned, then the raw values', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const npy = encodeNpy(data, [2, 3]);
    expect(text(npy.subarray(0, 6))).toBe('\x93NUMPY');
    expect([npy[6], npy[7]]).toEqual([1, 0]);
    const headerLen = npy[8]! | (npy[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(text(npy.subarray(10, 10 + headerLen))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(Array.from(new Float32Array(npy.slice(10 + headerLen).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('names each typed array by its dtype; a 1-D shape is a one-element tuple', () => {
    expect(text(encodeNpy(new Float64Array(3), [3]))).toContain("'descr': '<f8', 'fortran_order': False, 'shape': (3,)");
    expect(text(encodeNpy(new BigInt64Array(2), [1, 2]))).toContain("'<i8'");
    expect(text(encodeNpy(new Uint8Array(2), [2, 1]))).toContain("'|u1'");
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/holds 6 values, the array 5/);
  });
});
