import { describe, expect, it } from 'vitest';
import { outputTensor, rawOf, valuesMade } from './output-tensor.js';
import { toJsonValues, type RawTensor } from './raw.js';
import { sliceOutputRows } from './rows.js';

/** 2,500 rows of 2 (5,000 values: made lazily), with NaN and infinities. */
const big = Float32Array.from({ length: 5000 }, (_, i) => (i === 1 ? NaN : i === 3 ? -Infinity : i / 10));
const f32: RawTensor = { name: 'y', datatype: 'FP32', shape: [2500, 2], data: new Uint8Array(big.buffer) };
const i64: RawTensor = { name: 'k', datatype: 'INT64', shape: [4096], data: new Uint8Array(BigInt64Array.from({ length: 4096 }, (_, i) => BigInt(i) - 3n).buffer) };
const strings: RawTensor = { name: 's', datatype: 'BYTES', shape: [2], data: ['a', 'ü'] };
const small: RawTensor = { name: 'p', datatype: 'FP32', shape: [1, 2], data: new Uint8Array(new Float32Array([0.5, 2]).buffer) };

describe('outputTensor', () => {
  it('is the public form of its bytes: the same JSON as toJsonValues, key for key', () => {
    for (const raw of [f32, i64, strings, small]) {
      const t = outputTensor(raw);
      expect(JSON.stringify(t)).toBe(JSON.stringify({ name: raw.name, datatype: raw.datatype, shape: raw.shape, data: toJsonValues(raw) }));
      expect(t.data).toEqual(toJsonValues(raw));
      expect(rawOf(t)).toBe(raw);
    }
  });

  it('makes a large tensor\'s JSON values only when read, once; a small one\'s at once (a plain object)', () => {
    const t = outputTensor(f32);
    expect(valuesMade(t)).toBe(false);
    const first = t.data;
    expect(valuesMade(t)).toBe(true);
    expect(t.data).toBe(first);
    const s = outputTensor(small);
    expect(valuesMade(s)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(s, 'data')?.get).toBeUndefined();
  });

  it('keeps its bytes until its data is replaced; a spread copy is plain JSON values', () => {
    const t = outputTensor(f32);
    const copy = { ...t };
    expect(rawOf(copy)).toBeUndefined();
    expect(copy.data).toEqual(toJsonValues(f32));
    t.data = [1];
    expect(rawOf(t)).toBeUndefined();
    expect(t.data).toEqual([1]);
    expect(rawOf({ name: 'y', datatype: 'FP32', shape: [1], data: [1] })).toBeUndefined();
  });

  it('sliceOutputRows takes its rows of the bytes, still without making JSON values', () => {
    const t = outputTensor(f32);
    const rows = sliceOutputRows(t, 1, 2500);
    expect(valuesMade(t)).toBe(false);
    expect(valuesMade(rows)).toBe(false);
    expect(rawOf(rows)!.data).toEqual(new Uint8Array(big.buffer, 8));
    expect(rows).toEqual({ name: 'y', datatype: 'FP32', shape: [2499, 2], data: toJsonValues(f32).slice(2) });
  });
});
