import { describe, expect, it } from 'vitest';
import { checkBytes } from './bytes.js';

describe('checkBytes', () => {
  it('accepts bytes of the exact length and keeps them as they are', () => {
    const bytes = new Uint8Array(new Float32Array([1, NaN, -Infinity, 2, 3, 4]).buffer);
    const r = checkBytes('x', 'FP32', [2, 3], bytes);
    expect(r).toEqual({ ok: true, tensor: { name: 'x', datatype: 'FP32', shape: [2, 3], data: bytes } });
  });
  it('rejects a length that does not fit the shape, saying both', () => {
    expect(checkBytes('x', 'INT64', [2], new Uint8Array(12))).toEqual({ ok: false, message: 'binary data has 12 bytes but shape [2] of INT64 needs 16' });
  });
  it('rejects BOOL bytes other than 0 and 1', () => {
    expect(checkBytes('b', 'BOOL', [3], Uint8Array.of(0, 1, 2))).toEqual({ ok: false, message: 'byte 2 = 2 is not a BOOL (0 or 1)' });
  });
  it('counts BYTES elements', () => {
    expect(checkBytes('s', 'BYTES', [1, 2], ['a', 'b']).ok).toBe(true);
    expect(checkBytes('s', 'BYTES', [3], ['a'])).toEqual({ ok: false, message: 'binary data holds 1 BYTES elements but shape [3] needs 3' });
    // onnxruntime-node would cut the element at the NUL.
    expect(checkBytes('s', 'BYTES', [2], ['a', 'a\0b'])).toEqual({ ok: false, message: "BYTES element 1 holds a NUL byte, at which onnxruntime-node's strings end" });
  });
  it('rejects contents of the wrong kind', () => {
    expect(checkBytes('s', 'BYTES', [1], new Uint8Array(1)).ok).toBe(false);
    expect(checkBytes('x', 'FP32', [1], ['a']).ok).toBe(false);
  });
});
