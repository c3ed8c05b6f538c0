import { describe, expect, it } from 'vitest';
import { nonFinitePath, parseJson, refuseBinaryOutputs, stringifyJson } from './json.js';

describe('parseJson', () => {
  it("reads an integer tensor's values past 2^53 as exact bigints: INT64/UINT64 data, and compact values (which name no datatype)", () => {
    const text = '{"outputs":[{"name":"id","datatype":"INT64","shape":[3],"data":[9007199254740993,-9223372036854775808,5]},{"name":"u","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}';
    const v = parseJson(text) as { outputs: { data: unknown[] }[] };
    expect(v.outputs[0]!.data).toEqual([9007199254740993n, -9223372036854775808n, 5]);
    expect(v.outputs[1]!.data).toEqual([18446744073709551615n]);
    expect(parseJson('{"custom_id":"1","outputs":{"id":[9007199254740993]}}')).toEqual({ custom_id: '1', outputs: { id: [9007199254740993n] } });
    expect(parseJson('{"inputs":{"id":[[9007199254740993]]}}')).toEqual({ inputs: { id: [[9007199254740993n]] } });
  });
  it('reads every other number as JSON.parse does: float tensors written in digits, metadata, parameters (an SDK audit: they came as bigints)', () => {
    const text = '{"id":"j","metadata":{"order":1152921504606846976},"outputs":[{"name":"sum","datatype":"FP32","shape":[3],"data":[100000002004087730000,1.5,-300000000000000000]},{"name":"t","datatype":"FP64","shape":[1],"data":[1152921504606846976]},{"name":"id","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}';
    expect(parseJson(text)).toEqual(JSON.parse(text.replace('[9007199254740993]', '["x"]')) && {
      ...JSON.parse(text),
      outputs: [...JSON.parse(text).outputs.slice(0, 2), { name: 'id', datatype: 'INT64', shape: [1], data: [9007199254740993n] }],
    });
    const v = parseJson(text) as { metadata: { order: unknown }; outputs: { data: unknown[] }[] };
    expect(typeof v.metadata.order).toBe('number');
    expect(v.outputs[0]!.data.map((x) => typeof x)).toEqual(['number', 'number', 'number']);
    expect(() => JSON.stringify(parseJson('{"metadata":{"order":1152921504606846976}}'))).not.toThrow();
  });
  it('keeps numbers a double holds as numbers: safe 16-digit integers, long fractions and exponents', () => {
    const numbers = ['9007199254740991', '1234567890123456', '0.12345678901234567', '1.2345678901234567e-5', '12345678901234567.5', '1e400'];
    expect(parseJson(`[${numbers.join(', ')}]`)).toEqual(numbers.map(Number));
    expect(parseJson('{"a":[0.12345678901234567,1.5e-300],"b":"12345678901234567890"}')).toEqual({ a: [Number('0.12345678901234567'), 1.5e-300], b: '12345678901234567890' });
  });
  it('reads 2^53 + 1 inside a string as text, not as a number', () => {
    expect(parseJson('{"id":"x 9007199254740993"}')).toEqual({ id: 'x 9007199254740993' });
  });
  it('throws a SyntaxError on text that is not JSON, either way', () => {
    expect(() => parseJson('{"a":')).toThrow(SyntaxError);
    expect(() => parseJson('{"a":9007199254740993,')).toThrow(SyntaxError);
  });
});

describe('stringifyJson', () => {
  it('writes bigints as their digits, the rest as JSON.stringify does', () => {
    expect(stringifyJson({ data: [9007199254740993n, 1, 0.5], s: 'a"b' })).toBe('{"data":[9007199254740993,1,0.5],"s":"a\\"b"}');
    expect(stringifyJson({ a: [1, 'x', null, true] })).toBe(JSON.stringify({ a: [1, 'x', null, true] }));
  });
  it('writes a typed array as the list of its values, wherever it is (JSON.stringify made an object of numbered keys, which the service read as no data)', () => {
    expect(stringifyJson({ inputs: [{ name: 'x', data: new Float32Array([1.5, -2]) }] })).toBe('{"inputs":[{"name":"x","data":[1.5,-2]}]}');
    expect(stringifyJson({ inputs: { ids: new BigInt64Array([9007199254740993n]) } })).toBe('{"inputs":{"ids":[9007199254740993]}}');
    expect(stringifyJson([new Uint8Array([1, 2])])).toBe('[[1,2]]');
    const at = new Date(0);
    expect(stringifyJson({ data: new Int32Array([3]), metadata: { at } })).toBe('{"data":[3],"metadata":{"at":"1970-01-01T00:00:00.000Z"}}');
    expect(() => stringifyJson({ data: new Float64Array([1, Number.NaN]) })).toThrow(/NaN at data\[1\]/);
  });
  it('round-trips with parseJson', () => {
    const v = { inputs: [{ name: 'ids', datatype: 'UINT64', shape: [2], data: [18446744073709551615n, 3] }] };
    expect(parseJson(stringifyJson(v)!)).toEqual(v);
  });
});

describe('non-finite numbers', () => {
  it('refuses NaN and ±Infinity, naming where they are, instead of sending null', () => {
    expect(() => stringifyJson({ inputs: [{ name: 'x', data: [[1, 2], [3, Number.NaN]] }] })).toThrow(/NaN at inputs\[0\]\.data\[1\]\[1\] cannot be sent/);
    expect(() => stringifyJson({ data: [1n, Number.POSITIVE_INFINITY] })).toThrow(/Infinity at data\[1\]/);
    expect(() => stringifyJson(Number.NEGATIVE_INFINITY)).toThrow(/-Infinity at the top/);
  });
  it('lets null itself through, and finds nothing where there is nothing', () => {
    expect(stringifyJson({ a: null, b: [null, 1] })).toBe('{"a":null,"b":[null,1]}');
    expect(nonFinitePath({ a: [0, -0, 1e308, Number.MAX_VALUE], s: 'NaN' }, '')).toBeUndefined();
  });
});

describe('refuseBinaryOutputs', () => {
  it('refuses outputs asked for in the binary extension, before anything is sent', () => {
    expect(() => refuseBinaryOutputs({ binary_data_output: true }, undefined)).toThrow(/binary tensor extension, which this client does not read/);
    expect(() => refuseBinaryOutputs(undefined, [{ name: 'label', parameters: { binary_data: true } }])).toThrow(TypeError);
    expect(() => refuseBinaryOutputs({ binary_data_output: false }, ['label', { name: 'p', parameters: { classification: 2 } }])).not.toThrow();
  });
});
