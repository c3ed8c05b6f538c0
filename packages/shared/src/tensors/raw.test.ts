import { describe, expect, it } from 'vitest';
import { DATATYPES, DATATYPE_INFO, type Datatype } from '../contract/datatypes.js';
import { tensorOf } from './encode.js';
import { exactJson } from './exact-integers.js';
import {
  elementCount, fromEncoded, jsonValueReader, jsonValueSlicer, rowElements, toEncoded, toJsonValues, typedView, type EncodedTensor, type RawTensor,
} from './raw.js';

const SAMPLES: Record<Datatype, unknown[]> = {
  BOOL: [true, false, false, true],
  UINT8: [0, 7, 200, 255],
  UINT16: [0, 1, 65534, 65535],
  UINT32: [0, 1, 70000, 4294967295],
  UINT64: [0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER],
  INT8: [-128, -1, 0, 127],
  INT16: [-32768, -1, 1, 32767],
  INT32: [-2147483648, -1, 1, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, -1, 1, Number.MAX_SAFE_INTEGER],
  FP16: [0.5, -1.25, 1024, 65504],
  FP32: [0.5, -1.25, 1024, 3.5],
  FP64: [0.1, -1e-300, 1e300, Math.E],
  BYTES: ['a', '', 'héllo', '{"json":1}'],
};

function encoded(datatype: Datatype, values = SAMPLES[datatype], shape = [2, values.length / 2]): RawTensor {
  return tensorOf('t', datatype, shape, values);
}

/** What travels through Redis: JSON text. */
const viaJson = (e: EncodedTensor): EncodedTensor => JSON.parse(JSON.stringify(e)) as EncodedTensor;

describe('elementCount / rowElements', () => {
  it('multiplies the dimensions; rank 0 has one element', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([5, 0, 2])).toBe(0);
  });

  it('rowElements ignores the first (batch) dimension', () => {
    expect(rowElements([7, 3, 4])).toBe(12);
    expect(rowElements([7])).toBe(1);
    expect(rowElements([0, 5])).toBe(5);
  });
});

describe('toEncoded / fromEncoded', () => {
  it.each([...DATATYPES])('%s survives a round trip through JSON', (datatype) => {
    const raw = encoded(datatype);
    const back = fromEncoded(viaJson(toEncoded(raw)));
    expect(back.name).toBe('t');
    expect(back.datatype).toBe(datatype);
    expect(back.shape).toEqual([2, 2]);
    if (datatype === 'BYTES') expect(back.data).toEqual(SAMPLES.BYTES);
    else expect([...(back.data as Uint8Array)]).toEqual([...(raw.data as Uint8Array)]);
    const expected = datatype === 'FP32' ? SAMPLES.FP32.map((v) => Math.fround(v as number)) : SAMPLES[datatype];
    expect(toJsonValues(back)).toEqual(expected);
  });

  it('numeric tensors travel as base64 of their bytes, BYTES as strings', () => {
    const f = toEncoded(encoded('FP32', [1, 2], [2]));
    expect(f.strings).toBeUndefined();
    expect(Buffer.from(f.b64!, 'base64')).toEqual(Buffer.from(new Float32Array([1, 2]).buffer));
    const s = toEncoded(encoded('BYTES', ['x', 'y'], [2]));
    expect(s).toEqual({ name: 't', datatype: 'BYTES', shape: [2], strings: ['x', 'y'] });
    expect(s.b64).toBeUndefined();
  });

  it('encodes only the viewed bytes of a subarray (not the whole underlying buffer)', () => {
    const backing = new Uint8Array([9, 9, 9, 1, 0, 0, 0, 2, 0, 0, 0, 9]);
    const t: RawTensor = { name: 'v', datatype: 'INT32', shape: [2], data: backing.subarray(3, 11) };
    const e = toEncoded(t);
    expect([...Buffer.from(e.b64!, 'base64')]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(toJsonValues(fromEncoded(e))).toEqual([1, 2]);
  });

  it('rejects a byte length that does not match the shape', () => {
    const e = toEncoded(encoded('FP32', [1, 2, 3, 4], [4]));
    expect(() => fromEncoded({ ...e, shape: [5] })).toThrow('tensor t: 16 bytes for shape [5] of FP32 (expected 20)');
    expect(() => fromEncoded({ ...e, shape: [2] })).toThrow(/expected 8/);
    expect(() => fromEncoded({ ...e, datatype: 'FP64' })).toThrow(/16 bytes .* of FP64 \(expected 32\)/);
  });

  it('a missing b64 is zero bytes: fine for an empty tensor, an error otherwise', () => {
    expect(fromEncoded({ name: 'e', datatype: 'INT8', shape: [0, 3] }).data).toHaveLength(0);
    expect(() => fromEncoded({ name: 'e', datatype: 'INT8', shape: [1, 3] })).toThrow(/0 bytes .* \(expected 3\)/);
  });

  it('rejects BYTES whose number of strings does not match the shape', () => {
    expect(() => fromEncoded({ name: 's', datatype: 'BYTES', shape: [2, 2], strings: ['a', 'b', 'c'] })).toThrow(
      /tensor s: 3 strings for shape \[2,2\] \(expected 4\)/,
    );
    expect(() => fromEncoded({ name: 's', datatype: 'BYTES', shape: [1] })).toThrow(/0 strings/);
    expect(fromEncoded({ name: 's', datatype: 'BYTES', shape: [0] }).data).toEqual([]);
  });
});

describe('typedView', () => {
  it('views bytes as the datatype\'s typed array', () => {
    const v = typedView(encoded('INT16', [-1, 2, 300, -400], [4]));
    expect(v).toBeInstanceOf(Int16Array);
    expect([...v]).toEqual([-1, 2, 300, -400]);
  });

  it('shares memory when the bytes are aligned (no copy)', () => {
    const t = encoded('FP32', [1, 2], [2]);
    typedView(t)[0] = 42;
    expect(new Float32Array((t.data as Uint8Array).buffer, (t.data as Uint8Array).byteOffset, 2)[0]).toBe(42);
  });

  it.each(['UINT16', 'INT32', 'UINT32', 'FP32', 'FP64', 'INT64', 'UINT64'] as const)('%s: copes with an unaligned Buffer', (datatype) => {
    const src = encoded(datatype, SAMPLES[datatype], [4]).data as Uint8Array;
    const backing = Buffer.alloc(src.byteLength + 1);
    backing.set(src, 1);
    const unaligned = backing.subarray(1);
    expect(unaligned.byteOffset % DATATYPE_INFO[datatype].bytes).not.toBe(0);
    const view = typedView({ name: 'u', datatype, shape: [4], data: unaligned });
    expect(view).toBeInstanceOf(DATATYPE_INFO[datatype].array!);
    expect(view.length).toBe(4);
    const expected = SAMPLES[datatype].map((x) => (DATATYPE_INFO[datatype].kind === 'bigint' ? BigInt(x as number) : x));
    expect([...view]).toEqual(expected);
  });

  it('throws for BYTES', () => {
    expect(() => typedView(encoded('BYTES', ['a'], [1]))).toThrow('tensor t: BYTES has no typed-array view');
  });
});

describe('toJsonValues', () => {
  it('BOOL gives booleans, not 0/1', () => {
    expect(toJsonValues(encoded('BOOL', [true, false, true], [3]))).toEqual([true, false, true]);
    expect(toJsonValues({ name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([0, 7]) })).toEqual([false, true]);
  });

  it('INT64 and UINT64 give numbers, not bigints', () => {
    const values = toJsonValues(encoded('INT64', [-5, 2 ** 40], [2]));
    expect(values).toEqual([-5, 2 ** 40]);
    expect(values.every((v) => typeof v === 'number')).toBe(true);
    expect(typeof toJsonValues(encoded('UINT64', [3], [1]))[0]).toBe('number');
    expect(JSON.stringify(toJsonValues(encoded('INT64', [7], [1])))).toBe('[7]');
  });

  it('INT64 and UINT64 past 2^53 give markers that exactJson writes as the exact digits, in every reader', () => {
    const big = [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, 9007199254740991n];
    const t = encoded('INT64', big, [4]);
    const values = toJsonValues(t);
    expect(values[3]).toBe(9007199254740991);
    expect(exactJson(JSON.stringify(values))).toBe('[9223372036854775807,-9223372036854775808,9007199254740993,9007199254740991]');
    expect(exactJson(JSON.stringify({ data: jsonValueSlicer(t)(0, 2) }))).toBe('{"data":[9223372036854775807,-9223372036854775808]}');
    expect(exactJson(JSON.stringify(jsonValueReader(t)(2)))).toBe('9007199254740993');
    expect(exactJson(JSON.stringify(toJsonValues(encoded('UINT64', [2n ** 64n - 1n], [1]))))).toBe('[18446744073709551615]');
  });

  it('BYTES returns the strings', () => {
    expect(toJsonValues(encoded('BYTES', ['p', 'q'], [2]))).toEqual(['p', 'q']);
  });

  it('an empty tensor gives an empty array', () => {
    expect(toJsonValues(encoded('FP32', [], [0, 2]))).toEqual([]);
  });
});

describe('jsonValueReader', () => {
  it('reads every element as toJsonValues gives it, for every datatype (and a BOOL byte other than 1)', () => {
    const tensors = [...DATATYPES.map((d) => encoded(d)), { name: 'b', datatype: 'BOOL' as const, shape: [2], data: new Uint8Array([0, 7]) }];
    for (const t of tensors) {
      const at = jsonValueReader(t);
      expect(toJsonValues(t).map((_, j) => at(j))).toEqual(toJsonValues(t));
    }
  });
});

describe('jsonValueSlicer', () => {
  it('gives every range of elements as toJsonValues gives them, for every datatype', () => {
    for (const t of DATATYPES.map((d) => encoded(d))) {
      const slice = jsonValueSlicer(t);
      const all = toJsonValues(t);
      for (let from = 0; from <= all.length; from++) {
        for (let to = from; to <= all.length; to++) expect(slice(from, to)).toEqual(all.slice(from, to));
      }
    }
  });
});
