import { describe, expect, it } from 'vitest';
import { numericBytes, packPayload, unpackPayload } from './payload.js';
import type { RawTensor } from './raw.js';

const f32 = (name: string, values: number[], shape: number[]): RawTensor => ({ name, datatype: 'FP32', shape, data: new Uint8Array(Float32Array.from(values).buffer) });

describe('packPayload / unpackPayload', () => {
  it('round-trips numeric and BYTES tensors, numeric bytes side by side', () => {
    const a = f32('a', [1, 2, 3, 4], [2, 2]);
    const b: RawTensor = { name: 'b', datatype: 'INT8', shape: [2, 1], data: Uint8Array.from([0xff, 7]) };
    const s: RawTensor = { name: 's', datatype: 'BYTES', shape: [2], data: ['x', 'y'] };
    const packed = packPayload([a, s, b]);
    expect(packed.bytes.byteLength).toBe(18);
    expect(packed.inputs.map((e) => e.at ?? e.strings)).toEqual([[0, 16], ['x', 'y'], [16, 2]]);
    expect(JSON.stringify(packed.inputs)).not.toContain('b64');
    const back = unpackPayload(packed.inputs, packed.bytes);
    expect(back.map((t) => [t.name, t.shape, (Array.isArray(t.data) ? t.data : Array.from(t.data))])).toEqual([
      ['a', [2, 2], Array.from(a.data as Uint8Array)], ['s', [2], ['x', 'y']], ['b', [2, 1], [0xff, 7]],
    ]);
  });

  it('one numeric tensor is not copied: the payload is its buffer', () => {
    const a = f32('a', [1, 2], [1, 2]);
    expect(packPayload([a]).bytes.buffer).toBe((a.data as Uint8Array).buffer);
  });

  it('unpacked tensors are views into the payload', () => {
    const packed = packPayload([f32('a', [1, 2], [1, 2]), f32('b', [3], [1, 1])]);
    const [a] = unpackPayload(packed.inputs, packed.bytes);
    expect((a!.data as Uint8Array).buffer).toBe(packed.bytes.buffer);
  });

  it('a payload shorter than its description is refused', () => {
    const packed = packPayload([f32('a', [1, 2, 3, 4], [2, 2])]);
    expect(() => unpackPayload(packed.inputs, packed.bytes.subarray(0, 8))).toThrow(/16 bytes at 0 of a 8-byte payload/);
    expect(() => unpackPayload([{ ...packed.inputs[0]!, shape: [3, 2] }], packed.bytes)).toThrow(/expected 24/);
  });
});

describe('numericBytes', () => {
  it('counts the bytes of numeric tensors only (BYTES tensors stay inline in the job)', () => {
    const tensors: RawTensor[] = [
      { name: 'a', datatype: 'FP32', shape: [2, 3], data: new Uint8Array(24) },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['x'.repeat(100_000), 'y'] },
      { name: 'b', datatype: 'INT64', shape: [2], data: new Uint8Array(16) },
    ];
    expect(numericBytes(tensors)).toBe(40);
    expect(numericBytes([])).toBe(0);
  });
});
