import { describe, expect, it } from 'vitest';
import { outputTensor, rawOf, valuesMade } from './output-tensor.js';
import { toJsonValues, type RawTensor } from './raw.js';
import { sliceOutputRows } from './rows.js';

const f32: RawTensor = { name: 'y', datatype: 'FP32', shape: [3, 2], data: new Uint8Array(new Float32Array([0.1, NaN, 2, -Infinity, 4, 5]).buffer) };
const i64: RawTensor = { name: 'k', datatype: 'INT64', shape: [2], data: new Uint8Array(new BigInt64Array([-3n, 9007199254740991n]).buffer) };
const strings: RawTensor = { name: 's', datatype: 'BYTES', shape: [2], data: ['a', 'ü'] };
const unread = (t: Parameters<typeof valuesMade>[0]) => !valuesMade(t);

describe('outputTensor', () => {
  it('is the public form of its bytes: the same JSON as toJsonValues, key for key', () => {
    for (const raw of [f32, i64, strings]) {
      const t = outputTensor(raw);
      expect(unread(t)).toBe(true);
      expect(JSON.stringify(t)).toBe(JSON.stringify({ name: raw.name, datatype: raw.datatype, shape: raw.shape, data: toJsonValues(raw) }));
      expect(unread(t)).toBe(false); // made once, then kept
      expect(t.data).toEqual(toJsonValues(raw));
    }
  });

  it('keeps its bytes until its data is replaced; a spread copy is plain JSON values', () => {
    const t = outputTensor(f32);
    expect(rawOf(t)).toBe(f32);
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
    const rows = sliceOutputRows(t, 1, 3);
    expect(unread(t)).toBe(true);
    expect(unread(rows)).toBe(true);
    expect(rawOf(rows)!.data).toEqual(new Uint8Array(new Float32Array([2, -Infinity, 4, 5]).buffer));
    expect(rows).toEqual({ name: 'y', datatype: 'FP32', shape: [2, 2], data: toJsonValues(f32).slice(2) });
  });
});
