import { describe, expect, it } from 'vitest';
import { nonFinitePath, parseJson, stringifyJson } from './json.js';

describe('parseJson', () => {
  it('reads integers past 2^53 as exact bigints, anywhere', () => {
    const text = '{"outputs":[{"name":"id","datatype":"INT64","shape":[3],"data":[9007199254740993,-9223372036854775808,5]}],"m":{"u":18446744073709551615}}';
    const v = parseJson(text) as { outputs: { data: unknown[] }[]; m: { u: unknown } };
    expect(v.outputs[0]!.data).toEqual([9007199254740993n, -9223372036854775808n, 5]);
    expect(v.m.u).toBe(18446744073709551615n);
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
