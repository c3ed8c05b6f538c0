import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BinaryData, InputTensor, JsonTensor, ValuesArray } from './tensor.js';

const tensor = (data: unknown) => ({ name: 'x', shape: [2], datatype: 'FP32', data });

describe('ValuesArray', () => {
  it('passes the array itself through, elements unvisited (they are checked where they are encoded)', () => {
    const data = [1, 'two', { three: 3 }, null];
    const parsed = JsonTensor.parse(tensor(data));
    expect(parsed.data).toBe(data);
  });

  it('refuses anything but an array, worded as zod words a type mismatch', () => {
    for (const [data, received] of [[undefined, 'undefined'], [null, 'null'], ['1,2', 'string'], [{ 0: 1 }, 'object'], [5, 'number']] as const) {
      const issues = JsonTensor.safeParse(tensor(data)).error?.issues;
      expect(issues?.map((i) => [i.path, i.message])).toEqual([[['data'], `Invalid input: expected array, received ${received}`]]);
    }
  });

  it("leaves InputTensor's own message for data that is neither an array nor bytes", () => {
    for (const data of [undefined, 'abc', 7]) {
      const issues = InputTensor.safeParse(tensor(data)).error?.issues;
      expect(issues?.map((i) => i.message)).toEqual(['data is required (or parameters.binary_data_size with the binary tensor extension)']);
    }
    expect(InputTensor.parse(tensor(new BinaryData(new Uint8Array(8)))).data).toBeInstanceOf(BinaryData);
  });

  it("has z.array(z.unknown())'s JSON Schema (the OpenAPI document is made from these schemas)", () => {
    expect(z.toJSONSchema(ValuesArray)).toEqual(z.toJSONSchema(z.array(z.unknown())));
  });
});
