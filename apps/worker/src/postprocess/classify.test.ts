import { tensorOf, type Datatype, type RawTensor } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { classify, printfFixed } from './classify.js';

const tensor = (datatype: Datatype, shape: number[], values: unknown[], name = 'probs'): RawTensor => tensorOf(name, datatype, shape, values);

describe('classify', () => {
  it('returns the top k of each row, best first, as "value:index"', () => {
    const t = tensor('FP64', [2, 4], [0.1, 0.6, 0.05, 0.25, 0.7, 0.1, 0.15, 0.05]);
    expect(classify(t, 2, undefined)).toEqual({
      name: 'probs', datatype: 'BYTES', shape: [2, 2], data: ['0.600000:1', '0.250000:3', '0.700000:0', '0.150000:2'],
    });
  });

  it('ranks NaN below every number, so the best is never lost (audit: [2, NaN, 5] gave 2 and NaN)', () => {
    // Made from bytes, as a model's output is (JSON cannot carry NaN).
    const floats = (datatype: 'FP32' | 'FP64', values: number[]): RawTensor => ({
      name: 'probs', datatype, shape: [1, values.length], data: new Uint8Array((datatype === 'FP32' ? Float32Array : Float64Array).from(values).buffer),
    });
    expect(classify(floats('FP32', [2, NaN, 5]), 2, undefined).data).toEqual(['5.000000:2', '2.000000:0']);
    expect(classify(floats('FP32', [NaN, 1, 5]), 3, undefined).data).toEqual(['5.000000:2', '1.000000:1', 'nan:0']);
    expect(classify(floats('FP64', [NaN, -Infinity, NaN, 0]), 4, undefined).data).toEqual(['0.000000:3', '-inf:1', 'nan:0', 'nan:2']);
  });

  it('appends labels when present', () => {
    const t = tensor('FP64', [1, 3], [0.2, 0.3, 0.5]);
    expect(classify(t, 3, ['cat', 'dog', 'bird']).data).toEqual(['0.500000:2:bird', '0.300000:1:dog', '0.200000:0:cat']);
  });

  it('omits the label for indexes beyond the labels', () => {
    const t = tensor('FP64', [1, 3], [0.2, 0.3, 0.5]);
    expect(classify(t, 2, ['cat']).data).toEqual(['0.500000:2', '0.300000:1']);
  });

  it('an empty label list is the same as no labels', () => {
    expect(classify(tensor('FP64', [1, 2], [1, 2]), 1, []).data).toEqual(['2.000000:1']);
  });

  it('breaks ties by the lower index', () => {
    const t = tensor('FP64', [1, 5], [0.1, 0.3, 0.3, 0.1, 0.3]);
    expect(classify(t, 5, undefined).data).toEqual(['0.300000:1', '0.300000:2', '0.300000:4', '0.100000:0', '0.100000:3']);
  });

  it('ties by the lower index also with many classes (sort stability not relied on)', () => {
    const n = 50;
    const t = tensor('FP64', [1, n], Array.from({ length: n }, () => 1));
    expect(classify(t, 3, undefined).data).toEqual(['1.000000:0', '1.000000:1', '1.000000:2']);
  });

  it('clamps k larger than the classes', () => {
    const out = classify(tensor('FP64', [2, 2], [1, 2, 4, 3]), 10, undefined);
    expect(out.shape).toEqual([2, 2]);
    expect(out.data).toEqual(['2.000000:1', '1.000000:0', '4.000000:0', '3.000000:1']);
  });

  it('handles negative scores (logits)', () => {
    expect(classify(tensor('FP64', [1, 3], [-3, -1, -2]), 1, undefined).data).toEqual(['-1.000000:1']);
  });

  it('reads FP32 and integer outputs', () => {
    expect(classify(tensor('FP32', [1, 2], [0.5, 0.25]), 1, undefined).data).toEqual(['0.500000:0']);
    expect(classify(tensor('INT64', [1, 3], [5, 9, -2]), 2, undefined).data).toEqual(['9:1', '5:0']);
    // past 2^53: compared and written exactly (as doubles, the first two would tie and print rounded)
    expect(classify(tensor('INT64', [1, 3], [9007199254740993n, 9007199254740992n, -(2n ** 63n)]), 3, undefined).data)
      .toEqual(['9007199254740993:0', '9007199254740992:1', '-9223372036854775808:2']);
    expect(classify(tensor('UINT64', [1, 2], [1n, 2n ** 64n - 1n]), 1, undefined).data).toEqual(['18446744073709551615:1']);
    expect(classify(tensor('UINT8', [1, 3], [5, 200, 7]), 1, undefined).data).toEqual(['200:1']);
  });

  it('classifies each row independently', () => {
    const t = tensor('FP64', [3, 2], [1, 0, 0, 1, 0.5, 0.7]);
    expect(classify(t, 1, ['no', 'yes']).data).toEqual(['1.000000:0:no', '1.000000:1:yes', '0.700000:1:yes']);
  });

  it('works on an unaligned buffer', () => {
    const src = tensor('FP32', [1, 3], [0.1, 0.9, 0.5]).data as Uint8Array;
    const backing = Buffer.alloc(src.byteLength + 1);
    backing.set(src, 1);
    const out = classify({ name: 'p', datatype: 'FP32', shape: [1, 3], data: backing.subarray(1) }, 1, undefined);
    expect(out.data).toEqual(['0.900000:1']);
  });

  it('zero rows give an empty [0, k] tensor', () => {
    expect(classify(tensor('FP32', [0, 3], []), 2, undefined)).toEqual({ name: 'probs', datatype: 'BYTES', shape: [0, 2], data: [] });
  });

  it('takes every element of a row as its classes, whatever their shape (Triton: [rows, 1000, 1, 1], [rows])', () => {
    const t = tensor('FP32', [2, 2, 1, 2], [0.1, 0.7, 0.2, 0, 0.9, 0.05, 0.03, 0.02]);
    expect(classify(t, 2, ['a', 'b', 'c', 'd'])).toEqual({ name: 'probs', datatype: 'BYTES', shape: [2, 2], data: ['0.700000:1:b', '0.200000:2:c', '0.900000:0:a', '0.050000:1:b'] });
    expect(classify(tensor('INT64', [3], [2, 0, 1]), 5, ['x'])).toEqual({ name: 'probs', datatype: 'BYTES', shape: [3, 1], data: ['2:0:x', '0:0:x', '1:0:x'] });
  });

  it('writes values as C\'s %f (Triton\'s std::to_string), an exact tie to even', () => {
    expect(printfFixed(1 / 128)).toBe('0.007812'); // 0.0078125: toFixed gives 0.007813
    expect(printfFixed(3 / 128)).toBe('0.023438'); // 0.0234375
    expect(printfFixed(0.1234565)).toBe((0.1234565).toFixed(6)); // not a tie in binary
    expect(printfFixed(9.430931591225544e-9)).toBe('0.000000');
    expect(printfFixed(-0)).toBe('-0.000000');
    expect(printfFixed(-2.5)).toBe('-2.500000');
    expect(printfFixed(1e22)).toBe('10000000000000000000000.000000');
    expect(printfFixed(3.4028234663852886e38)).toBe('340282346638528859811704183484516925440.000000'); // FLT_MAX, as glibc prints it
    expect([printfFixed(Infinity), printfFixed(-Infinity), printfFixed(NaN)]).toEqual(['inf', '-inf', 'nan']);
  });

  it('rejects BYTES input (no typed view)', () => {
    expect(() => classify(tensor('BYTES', [1, 2], ['a', 'b']), 1, undefined)).toThrow(/no typed-array view/);
  });
});
