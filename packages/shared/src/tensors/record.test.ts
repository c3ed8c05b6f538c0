import { describe, expect, it } from 'vitest';
import { readTensorRecord, tensorRecord } from './record.js';
import { toEncoded, type RawTensor } from './raw.js';

const f32 = (name: string, values: number[], shape: number[]): RawTensor => ({ name, datatype: 'FP32', shape, data: new Uint8Array(Float32Array.from(values).buffer) });
const plain = (ts: RawTensor[]) => ts.map((t) => [t.name, t.datatype, t.shape, Array.isArray(t.data) ? t.data : Array.from(t.data)]);

describe('tensorRecord / readTensorRecord', () => {
  it('round-trips numeric and BYTES tensors; the numeric bytes are stored as they are, not as base64', () => {
    const a = f32('a', [1.5, -2, 3, 4], [2, 2]);
    const b: RawTensor = { name: 'b', datatype: 'INT8', shape: [2, 1], data: Uint8Array.from([0xff, 7]) };
    const s: RawTensor = { name: 's', datatype: 'BYTES', shape: [2], data: ['x', 'ü'] };
    const record = tensorRecord([a, s, b]);
    expect(record.includes(Buffer.from((a.data as Uint8Array)))).toBe(true);
    expect(record.toString('latin1')).not.toContain('b64');
    expect(plain(readTensorRecord(record))).toEqual(plain([a, s, b]));
  });

  it('keeps the data 8-byte aligned in the value, and reads views into it (no copy)', () => {
    for (const name of ['o', 'output', 'a-longer-output-name']) {
      const record = tensorRecord([f32(name, [1, 2, 3], [3, 1])]);
      const [t] = readTensorRecord(record);
      const view = t!.data as Uint8Array;
      expect(view.buffer).toBe(record.buffer);
      expect((view.byteOffset - record.byteOffset) % 8).toBe(0);
      expect(Array.from(new Float32Array(view.buffer, view.byteOffset, 3))).toEqual([1, 2, 3]);
    }
  });

  it('reads records written before it: base64 inside JSON', () => {
    const a = f32('a', [0.25, 7], [2, 1]);
    const legacy = Buffer.from(JSON.stringify([toEncoded(a)]));
    expect(plain(readTensorRecord(legacy))).toEqual(plain([a]));
  });

  it('refuses what is not a record: another value, a header that runs past the end, a size mismatch', () => {
    expect(() => readTensorRecord(Buffer.from('hello'))).toThrow(/not a tensor record/);
    const record = tensorRecord([f32('a', [1, 2], [2, 1])]);
    const long = Buffer.from(record);
    long.writeUInt32LE(1 << 20, 4);
    expect(() => readTensorRecord(long)).toThrow(/runs past/);
    expect(() => readTensorRecord(record.subarray(0, record.length - 4))).toThrow(/bytes/);
  });

  it('an empty list and a record of no rows', () => {
    expect(readTensorRecord(tensorRecord([]))).toEqual([]);
    expect(plain(readTensorRecord(tensorRecord([f32('a', [], [0, 2])])))).toEqual([['a', 'FP32', [0, 2], []]]);
  });
});
