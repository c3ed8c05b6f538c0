import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../types.js';
import { UsageError } from './command.js';
import { Readable } from 'node:stream';
import { outputsFromArgs, readJsonFile, shapeOf, tensorsFromArgs } from './inputs.js';

describe('readJsonFile', () => {
  it('reads a JSON object from stdin (-), past a byte order mark as some editors write one', async () => {
    expect(await readJsonFile('-', Readable.from([Buffer.from('\uFEFF{"model":"m"}')]))).toEqual({ model: 'm' });
    await expect(readJsonFile('-', Readable.from([Buffer.from('[1]')]))).rejects.toThrow(UsageError);
  });
});

const PENGUINS: TensorSpec[] = [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }];
const FIXED: TensorSpec[] = [
  { name: 'x', datatype: 'FP32', shape: [2, 3] },
  { name: 'y', datatype: 'INT32', shape: [2, 3] },
];

describe('tensorsFromArgs', () => {
  it('takes the datatype from the model and the shape from the nesting', () => {
    expect(tensorsFromArgs(['features=[[1,2,3,4],[5,6,7,8]]'], PENGUINS, 'penguins')).toEqual([
      { name: 'features', datatype: 'FP32', shape: [2, 4], data: [[1, 2, 3, 4], [5, 6, 7, 8]] },
    ]);
    expect(tensorsFromArgs(['x=[[1,2,3],[4,5,6]]', 'y=[[1,1,1],[2,2,2]]'], FIXED, 'fixed').map((t) => [t.datatype, t.shape])).toEqual([
      ['FP32', [2, 3]],
      ['INT32', [2, 3]],
    ]);
  });

  it('adds the batch dimension to a single row', () => {
    expect(tensorsFromArgs(['features=[39.1,18.7,181,3750]'], PENGUINS, 'penguins')[0]!.shape).toEqual([1, 4]);
  });

  it('keeps INT64/UINT64 values past 2^53 exact (a bare list names no datatype: they were made the nearest double)', () => {
    const ids: TensorSpec[] = [{ name: 'a', datatype: 'INT64', shape: [-1, 3] }, { name: 'b', datatype: 'UINT64', shape: [-1, 2] }, { name: 'c', datatype: 'FP64', shape: [-1, 1] }];
    const [a, b, c] = tensorsFromArgs(['a=[9007199254740993,-9007199254740995,1]', 'b=[[18446744073709551000,9223372036854775809]]', 'c=[[12345678901234567890]]'], ids, 'ids');
    expect(a!.data).toEqual([9007199254740993n, -9007199254740995n, 1]);
    expect(b!.data).toEqual([[18446744073709551000n, 9223372036854775809n]]);
    expect(c!.data).toEqual([[Number('12345678901234567890')]]); // a float input's long integer is a number, as JSON.parse reads it
  });

  it('explains mistakes as usage errors', () => {
    expect(() => tensorsFromArgs(['features'], PENGUINS, 'penguins')).toThrow(UsageError);
    expect(() => tensorsFromArgs(['pixels=[1]'], PENGUINS, 'penguins')).toThrow("model penguins has no input 'pixels' (its inputs: features)");
    expect(() => tensorsFromArgs(['features=[1,'], PENGUINS, 'penguins')).toThrow(/not JSON/);
  });
});

describe('shapeOf / outputsFromArgs', () => {
  it('reads shapes and output requests', () => {
    expect(shapeOf([[[1], [2]], [[3], [4]], [[5], [6]]])).toEqual([3, 2, 1]);
    expect(shapeOf(5)).toEqual([]);
    expect(outputsFromArgs([])).toBeUndefined();
    expect(outputsFromArgs(['label', 'probabilities:2'])).toEqual([{ name: 'label' }, { name: 'probabilities', parameters: { classification: 2 } }]);
  });
});
