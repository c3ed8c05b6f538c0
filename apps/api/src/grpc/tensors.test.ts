import { describe, expect, it } from 'vitest';
import { BinaryData, outputTensor, tensorOf, ValidationError } from '@maas/shared';
import { encodeBytesElements } from '../binary/framing.js';
import { fromInferRequest, parameterValue, toInferResponse, type GrpcInferRequest } from './tensors.js';

const req = (over: Partial<GrpcInferRequest>): GrpcInferRequest => ({
  model_name: 'm', model_version: '', id: '', inputs: [], outputs: [], raw_input_contents: [], ...over,
});
const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);

describe('parameterValue', () => {
  it('reads whichever oneof member is set, int64 as a number', () => {
    expect(parameterValue({ parameter_choice: 'int64_param', int64_param: '3' })).toBe(3);
    expect(parameterValue({ parameter_choice: 'bool_param', bool_param: true })).toBe(true);
    expect(parameterValue(undefined)).toBeUndefined();
  });
});

describe('fromInferRequest', () => {
  it('raw contents become BinaryData, BYTES split into elements', () => {
    const p = fromInferRequest(req({
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2] }, { name: 's', datatype: 'BYTES', shape: ['2'] }],
      raw_input_contents: [f32(1, NaN), encodeBytesElements(['x', 'yz'])],
    }));
    expect(p.raw).toBe(true);
    expect(p.inputs[0]!.shape).toEqual([1, 2]);
    expect(p.inputs[0]!.data).toBeInstanceOf(BinaryData);
    expect((p.inputs[1]!.data as BinaryData).value).toEqual(['x', 'yz']);
  });
  it('typed contents become JSON-like data from the datatype\'s field', () => {
    const p = fromInferRequest(req({
      id: 'r',
      inputs: [
        { name: 'l', datatype: 'INT64', shape: [2], contents: { int64_contents: ['-1', '5'] } }, // as the server decodes int64 (strings)
        { name: 's', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('hé')] } },
      ],
      outputs: [{ name: 'o', parameters: { classification: { parameter_choice: 'int64_param', int64_param: 2 } } }, { name: 'q' }],
    }));
    expect(p).toMatchObject({ id: 'r', raw: false, outputs: [{ name: 'o', parameters: { classification: 2 } }, { name: 'q' }] });
    expect(p.inputs.map((t) => t.data)).toEqual([[-1n, 5n], ['hé']]);
  });
  it('refuses an id longer than REST takes', () => {
    expect(() => fromInferRequest(req({ id: 'x'.repeat(257) }))).toThrow(/id: must be at most 256 characters \(got 257\)/);
    expect(fromInferRequest(req({ id: 'x'.repeat(256) })).id).toHaveLength(256);
  });
  it('rejects contents in the wrong field, raw and typed together, and a raw count that differs', () => {
    const wrongField = req({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], contents: { int_contents: [1] } }] });
    expect(() => fromInferRequest(wrongField)).toThrow(/FP32 goes in fp32_contents, not int_contents/);
    const both = req({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }], raw_input_contents: [f32(1)] });
    expect(() => fromInferRequest(both)).toThrow(/contents must not be set when raw_input_contents is used/);
    const count = req({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1] }], raw_input_contents: [f32(1), f32(2)] });
    expect(() => fromInferRequest(count)).toThrow(ValidationError);
    expect(() => fromInferRequest(req({ inputs: [{ name: 'a', datatype: 'BF16', shape: [1] }] }))).toThrow(/unknown datatype 'BF16'/);
  });
  it('refuses a negative dimension, or one past 2^53, as REST does: two negatives multiply to a count that matches the data', () => {
    const shaped = (...shape: string[]) => req({ inputs: [{ name: 'x', datatype: 'FP32', shape }], raw_input_contents: [f32(1, 2, 3, 4)] });
    expect(() => fromInferRequest(shaped('1', '-1', '-4'))).toThrow(/inputs\[0\]\.shape\[1\]: must be an integer from 0 to 9007199254740991 \(got -1\)/);
    expect(() => fromInferRequest(shaped('9223372036854775807', '4'))).toThrow(/inputs\[0\]\.shape\[0\]: must be an integer from 0 to 9007199254740991 \(got 9223372036854775807\)/);
    expect(fromInferRequest(shaped('1', '0', '4')).inputs[0]!.shape).toEqual([1, 0, 4]); // refused later for its byte count, not here
    expect(fromInferRequest(shaped('1', '4')).inputs[0]!.shape).toEqual([1, 4]);
  });
  it('takes FP16 raw only: InferTensorContents has no field for it', () => {
    const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0]); // 1, -2
    const p = fromInferRequest(req({ inputs: [{ name: 'h', datatype: 'FP16', shape: [2] }], raw_input_contents: [half] }));
    expect(p.inputs[0]).toMatchObject({ datatype: 'FP16', shape: [2] });
    expect(Buffer.from((p.inputs[0]!.data as BinaryData).value as Uint8Array)).toEqual(half);
    const typed = req({ inputs: [{ name: 'h', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }] });
    expect(() => fromInferRequest(typed)).toThrow(/inputs\[0\]\.contents: FP16 has no field in InferTensorContents: send it in raw_input_contents/);
  });
});

describe('toInferResponse', () => {
  const outputs = [{ name: 'p', datatype: 'FP32' as const, shape: [2], data: [0.5, -Infinity] }, { name: 's', datatype: 'BYTES' as const, shape: [1], data: ['ok'] }];
  it('answers raw contents to a raw request', () => {
    const r = toInferResponse({ model_name: 'm', model_version: '1', id: 'x' }, outputs, true);
    expect(r.outputs.map((o) => o.name)).toEqual(['p', 's']);
    expect(r.raw_output_contents[0]).toEqual(f32(0.5, -Infinity));
    expect(r.raw_output_contents[1]).toEqual(encodeBytesElements(['ok']));
  });
  it('answers typed contents otherwise', () => {
    const r = toInferResponse({ model_name: 'm', model_version: '1', id: 'x' }, outputs, false);
    expect(r.raw_output_contents).toEqual([]);
    expect(r.outputs[0]).toMatchObject({ contents: { fp32_contents: [0.5, -Infinity] } });
    expect(r.outputs[1]).toMatchObject({ contents: { bytes_contents: [Buffer.from('ok')] } });
  });
  it('answers raw contents whole when an output is FP16, which has no typed field', () => {
    const half = outputTensor(tensorOf('h', 'FP16', [2], [1, -2]));
    const r = toInferResponse({ model_name: 'm', model_version: '1', id: 'x' }, [outputs[0]!, half], false);
    expect(r.outputs.every((o) => !('contents' in o))).toBe(true);
    expect(r.raw_output_contents).toEqual([f32(0.5, -Infinity), Buffer.from([0x00, 0x3c, 0x00, 0xc0])]);
  });
  it('answers INT64/UINT64 typed contents as decimal strings, exact past 2^53', () => {
    const ids = outputTensor(tensorOf('ids', 'INT64', [3], [2n ** 63n - 1n, -5, 9007199254740993n]));
    const big = outputTensor(tensorOf('u', 'UINT64', [1], [2n ** 64n - 1n]));
    const r = toInferResponse({ model_name: 'm', model_version: '1', id: 'x' }, [ids, big], false);
    expect(r.outputs[0]).toMatchObject({ contents: { int64_contents: ['9223372036854775807', '-5', '9007199254740993'] } });
    expect(r.outputs[1]).toMatchObject({ contents: { uint64_contents: ['18446744073709551615'] } });
  });
});
