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
