import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BinaryData, InputTensor, JsonTensor, RequestedOutput, sharedMemoryProblem, ValuesArray } from './tensor.js';
import { JobRequest } from './job.js';

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

describe('optional fields sent as null, and shared memory', () => {
  it('reads a null parameters as absent (clients that serialise unset fields send null)', () => {
    expect(InputTensor.parse({ ...tensor([1, 2]), parameters: null }).parameters).toBeUndefined();
    expect(RequestedOutput.parse({ name: 'y', parameters: null })).toEqual({ name: 'y' });
    expect(JobRequest.parse({ model: 'm', inputs: [tensor([1, 2])], outputs: null, parameters: null })).toEqual({ model: 'm', inputs: [tensor([1, 2])] });
  });

  it("keeps an output's classification and binary_data, drops other parameters", () => {
    expect(RequestedOutput.parse({ name: 'y', parameters: { classification: 2, binary_data: true, other: 1 } })).toEqual({ name: 'y', parameters: { classification: 2, binary_data: true } });
    expect(RequestedOutput.parse({ name: 'y', parameters: { other: 1 } })).toEqual({ name: 'y', parameters: {} });
  });

  it("refuses Triton's shared-memory parameters by name, on inputs and outputs, instead of ignoring them", () => {
    const out = RequestedOutput.safeParse({ name: 'y', parameters: { binary_data: false, shared_memory_region: 'output_data', shared_memory_byte_size: 8 } });
    expect(out.error?.issues.map((i) => [i.path, i.message])).toEqual([[['parameters'], expect.stringMatching(/^shared_memory_region: shared memory is not supported/)]]);
    const input = InputTensor.safeParse({ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { shared_memory_region: 'in', shared_memory_byte_size: 16 } });
    expect(input.error?.issues.map((i) => i.message)).toContainEqual(expect.stringMatching(/^shared_memory_region: shared memory is not supported/));
    expect(sharedMemoryProblem({ shared_memory_offset: 0 })).toMatch(/^shared_memory_offset/);
    expect(sharedMemoryProblem({ binary_data_size: 16 })).toBeUndefined();
    expect(sharedMemoryProblem(undefined)).toBeUndefined();
  });
});
